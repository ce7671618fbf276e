// Better Auth's own client (createAuthClient) against the platform: sign up, verify through the
// local outbox, sign in, read the session, sign out. Exits non-zero on the first difference.
import { createAuthClient } from "better-auth/client";

const base = process.env.BASE_URL;
const password = "correct horse battery staple";
const email = `js-client-${Date.now()}@example.com`;
let bearer = "";

function check(condition, message, detail) {
  if (!condition) {
    console.error(`FAIL: ${message}`, JSON.stringify(detail ?? null));
    process.exit(1);
  }
}

const client = createAuthClient({
  baseURL: base,
  fetchOptions: {
    auth: { type: "Bearer", token: () => bearer },
    onSuccess: (ctx) => {
      const token = ctx.response.headers.get("set-auth-token");
      if (token) bearer = token;
    },
  },
});

let r = await client.signUp.email({ email, password, name: "JS Client" });
check(!r.error && r.data.user.email === email && r.data.token === null, "sign-up", r);
check(r.data.user.createdAt instanceof Date, "dates parse as Date", r.data.user);

r = await client.signIn.email({ email, password });
check(r.error && r.error.status === 403 && r.error.code === "EMAIL_NOT_VERIFIED", "unverified sign-in", r.error);

r = await client.signIn.email({ email, password: "wrong password!!" });
check(r.error && r.error.status === 401 && r.error.code === "INVALID_EMAIL_OR_PASSWORD", "wrong password", r.error);

let link = null;
for (let i = 0; i < 100 && !link; i++) {
  const mails = await (await fetch(`${base}/_local/outbox`)).json();
  const mail = mails.find((m) => m.to === email && m.subject === "Verify your email address");
  if (mail) link = mail.text.match(/http\S+verify-email\?token=\S+/)[0];
  else await new Promise((done) => setTimeout(done, 200));
}
check(link, "verification email in the outbox");
const verified = await (await fetch(link)).json();
check(verified.status === true, "verify-email", verified);

r = await client.signIn.email({ email, password });
check(!r.error && r.data.user.emailVerified === true && r.data.token, "sign-in", r);
check(bearer.startsWith(r.data.token + "."), "set-auth-token gives the signed bearer token", bearer);

r = await client.getSession();
check(!r.error && r.data && r.data.user.email === email && r.data.session.expiresAt instanceof Date, "get-session", r);

r = await client.signOut();
check(!r.error && r.data.success === true, "sign-out", r);

r = await client.getSession();
check(!r.error && r.data === null, "no session after sign-out", r);

console.log("better-auth client: sign-up, verification, sign-in, session and sign-out all work");
