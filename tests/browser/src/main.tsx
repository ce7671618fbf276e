// A creator's token page as a fan uses it, on the platform's own clients: Better Auth's client
// (`better-auth/client`) signs up and in against /api/auth from this page's origin (the session
// cookie, cross-origin with credentials), Convex's React client runs every function over the sync
// socket with that session's token (`setAuth`), Stripe.js saves a card with a SetupIntent and does
// 3-D Secure, and the reference's TokenPurchase component buys.
//
// The page is told where things are in its query string: `api` (the platform's URL), `stripe`
// (where Stripe.js is served), `pk` (Stripe's publishable key), `org` (the creator's organization)
// and `token` (the creator's token).
import { StrictMode, useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { createRoot } from "react-dom/client";
import { ConvexProvider, ConvexReactClient, useAction, useQuery } from "convex/react";
import { createAuthClient } from "better-auth/client";
import { api } from "@/convex/_generated/api";
import type { Id } from "@/convex/_generated/dataModel";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { TokenPurchase } from "@/components/features/tokens/TokenPurchase";
import { loadStripe, type CardElement, type StripeJs } from "./stripe";

const params = new URLSearchParams(window.location.search);
const config = {
  api: params.get("api") ?? "http://127.0.0.1:3210",
  stripe: params.get("stripe") ?? "http://127.0.0.1:8420",
  publishableKey: params.get("pk") ?? "pk_test_local",
  organizationId: params.get("org") ?? "",
  tokenId: (params.get("token") ?? "") as Id<"entities">,
};

const authClient = createAuthClient({ baseURL: config.api, fetchOptions: { credentials: "include" } });
const convex = new ConvexReactClient(config.api);

type Session = { user: { email: string; name: string }; session: { token: string } };

/** The session's token for Convex's socket, from Better Auth's session (read with the cookie). */
async function fetchToken(): Promise<string | null> {
  const { data } = await authClient.getSession();
  return data?.session.token ?? null;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [socket, setSocket] = useState<"connecting" | "authenticated" | "refused">("connecting");

  const refresh = useCallback(async () => {
    const { data } = await authClient.getSession();
    setSession((data as Session | null) ?? null);
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    if (!session) return;
    convex.setAuth(fetchToken, (ok) => setSocket(ok ? "authenticated" : "refused"));
  }, [session]);

  const signOut = async () => {
    await authClient.signOut();
    convex.clearAuth();
    setSocket("connecting");
    setSession(null);
  };

  if (session === undefined) return <p>Loading…</p>;
  if (session === null) return <SignUpOrIn onSignedIn={refresh} />;
  return (
    <>
      <p className="row">
        <span>
          Signed in as <strong>{session.user.email}</strong>
          {socket === "authenticated" ? " · live" : socket === "refused" ? " · the live connection was refused" : ""}
        </span>
        <Button onClick={signOut}>Sign out</Button>
      </p>
      {socket === "authenticated" && <Membership />}
    </>
  );
}

function SignUpOrIn({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [notice, setNotice] = useState<string | null>(
    params.get("verified") && !params.get("error") ? "Your email is verified: sign in." : null,
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const signUp = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const back = new URL(window.location.href);
    back.searchParams.set("verified", "1");
    const { error } = await authClient.signUp.email({ name, email, password, callbackURL: back.toString() });
    setBusy(false);
    if (error) setError(error.message ?? error.statusText);
    else setNotice(`Check your inbox: we sent a link to ${email}.`);
  };

  const signIn = async () => {
    setBusy(true);
    setError(null);
    const { error } = await authClient.signIn.email({ email, password });
    setBusy(false);
    if (error) setError(error.message ?? error.statusText);
    else await onSignedIn();
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>Join ONE</CardTitle>
      </CardHeader>
      <CardContent className="space-y-4">
        <form onSubmit={signUp} className="space-y-4">
          <label>
            Name <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" />
          </label>
          <label>
            Email <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" />
          </label>
          <label>
            Password
            <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <div className="row">
            <Button type="submit" disabled={busy}>
              Create account
            </Button>
            <Button type="button" disabled={busy} onClick={signIn}>
              Sign in
            </Button>
          </div>
        </form>
        {notice && <p className="notice">{notice}</p>}
        {error && (
          <Alert variant="destructive">
            <AlertDescription>{error}</AlertDescription>
          </Alert>
        )}
      </CardContent>
    </Card>
  );
}

function Membership() {
  const join = useAction(api.organizations.join);
  const switchActive = useAction(api.organizations.switchActive);
  const [joined, setJoined] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const onJoin = async () => {
    setBusy(true);
    setError(null);
    try {
      await join({ organizationId: config.organizationId });
      await switchActive({ organizationId: config.organizationId });
      setJoined(true);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  if (!joined) {
    return (
      <Card>
        <CardContent className="space-y-4">
          <p>Join this creator's community to buy their token.</p>
          <Button onClick={onJoin} disabled={busy}>
            Join the community
          </Button>
          {error && (
            <Alert variant="destructive">
              <AlertDescription>{error}</AlertDescription>
            </Alert>
          )}
        </CardContent>
      </Card>
    );
  }
  return (
    <div className="grid">
      <div className="space-y-4">
        <TokenPurchase tokenId={config.tokenId} />
        <Purchases />
      </div>
      <PaymentMethod />
    </div>
  );
}

type SavedCard = { paymentMethodId: string; brand?: string; last4?: string; isDefault: boolean };

function PaymentMethod() {
  const createSetupIntent = useAction(api.billing.createSetupIntent);
  const savePaymentMethod = useAction(api.billing.savePaymentMethod);
  const listPaymentMethods = useAction(api.billing.listPaymentMethods);
  const mountPoint = useRef<HTMLDivElement>(null);
  const [stripe, setStripe] = useState<StripeJs | null>(null);
  const [card, setCard] = useState<CardElement | null>(null);
  const [cards, setCards] = useState<SavedCard[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const refresh = useCallback(async () => setCards((await listPaymentMethods({})) as SavedCard[]), [listPaymentMethods]);

  useEffect(() => {
    let element: CardElement | null = null;
    let gone = false;
    loadStripe(config.stripe, config.publishableKey).then(
      (loaded) => {
        if (gone || !mountPoint.current) return;
        element = loaded.elements().create("card");
        element.mount(mountPoint.current);
        setStripe(loaded);
        setCard(element);
      },
      (err) => setError(message(err)),
    );
    void refresh();
    return () => {
      gone = true;
      element?.destroy();
    };
  }, [refresh]);

  const save = async () => {
    if (!stripe || !card) return;
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const setup = await createSetupIntent({});
      const { error: declined, setupIntent } = await stripe.confirmCardSetup(setup.clientSecret, {
        payment_method: { card },
      });
      if (declined || !setupIntent) {
        setError(declined?.message ?? "The card was not saved");
        return;
      }
      const saved = (await savePaymentMethod({ setupIntentId: setupIntent.id })) as SavedCard;
      setNotice(`Saved your card ending in ${saved.last4}.`);
      await refresh();
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>Payment method</CardTitle>
      </CardHeader>
      <CardContent className="space-y-4">
        <ul aria-label="Saved cards">
          {cards === null ? (
            <li>…</li>
          ) : cards.length === 0 ? (
            <li>No saved card yet</li>
          ) : (
            cards.map((c) => (
              <li key={c.paymentMethodId}>
                {c.brand} ending in {c.last4}
                {c.isDefault ? " (default)" : ""}
              </li>
            ))
          )}
        </ul>
        <div ref={mountPoint} className="card-element" />
        <Button onClick={save} disabled={busy || !card}>
          {busy ? "Saving…" : "Save card"}
        </Button>
        {notice && <p className="notice">{notice}</p>}
        {error && (
          <Alert variant="destructive">
            <AlertDescription>{error}</AlertDescription>
          </Alert>
        )}
      </CardContent>
    </Card>
  );
}

type Payment = { _id: Id<"entities"> };

function Purchases() {
  const payments = useQuery(api.entities.list, { type: "payment", paginationOpts: { numItems: 5, cursor: null } });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Your purchases</CardTitle>
      </CardHeader>
      <CardContent>
        <ul aria-label="Purchases">
          {payments === undefined ? (
            <li>…</li>
          ) : payments.page.length === 0 ? (
            <li>None yet</li>
          ) : (
            (payments.page as Payment[]).map((p) => <PurchaseRow key={p._id} purchaseId={p._id} />)
          )}
        </ul>
      </CardContent>
    </Card>
  );
}

const STATUS: Record<string, string> = {
  pending: "Processing…",
  requires_action: "Waiting for your bank",
  completed: "Completed",
  failed: "Failed",
  refunded: "Refunded",
};

type PurchaseView = {
  status: string;
  amount?: number;
  usdCents: number;
  failureReason?: string;
  clientSecret?: string;
};

function PurchaseRow({ purchaseId }: { purchaseId: Id<"entities"> }) {
  const view = useQuery(api.tokens.getPurchase, { purchaseId }) as PurchaseView | null | undefined;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!view) return null;

  const authenticate = async () => {
    if (!view.clientSecret) return;
    setBusy(true);
    setError(null);
    try {
      const stripe = await loadStripe(config.stripe, config.publishableKey);
      const { error: failed } = await stripe.confirmCardPayment(view.clientSecret);
      if (failed) setError(failed.message ?? "Authentication failed");
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <li>
      {view.amount} tokens for ${(view.usdCents / 100).toFixed(2)}: {STATUS[view.status] ?? view.status}
      {view.failureReason ? ` (${view.failureReason})` : ""}
      {view.status === "requires_action" && view.clientSecret && (
        <div className="space-y-4">
          <p>Your bank asks you to confirm this payment.</p>
          <Button onClick={authenticate} disabled={busy}>
            Confirm with your bank
          </Button>
        </div>
      )}
      {error && (
        <Alert variant="destructive">
          <AlertDescription>{error}</AlertDescription>
        </Alert>
      )}
    </li>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ConvexProvider client={convex}>
      <main className="container">
        <h1>Creator tokens</h1>
        <App />
      </main>
    </ConvexProvider>
  </StrictMode>,
);
