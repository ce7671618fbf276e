// What Astro declares for a page (astro/client.d.ts), the parts the reference's page uses.

declare const Astro: {
  params: Record<string, string | undefined>;
  url: URL;
  request: Request;
  redirect(path: string, status?: 301 | 302 | 303 | 307 | 308): Response;
};

interface ImportMetaEnv {
  readonly PUBLIC_CONVEX_URL: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}

declare module "*.astro" {
  const Component: (props: Record<string, any>) => unknown;
  export default Component;
}
