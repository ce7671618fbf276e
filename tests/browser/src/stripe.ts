// Stripe.js, loaded the way a page loads it (a <script> tag, then `Stripe(publishableKey)`), from
// the URL the page is given: locally the Stripe stand-in serves its test Stripe.js at
// /js.stripe.com/v3/, whose 3-D Secure step is a dialog with "Complete authentication" and
// "Fail authentication", like Stripe's test page.

export interface StripeError {
  message?: string;
  code?: string;
}

export interface CardElement {
  mount(target: HTMLElement | string): void;
  destroy(): void;
}

export interface StripeJs {
  elements(): { create(type: "card"): CardElement };
  confirmCardSetup(
    clientSecret: string,
    data: { payment_method: { card: CardElement } },
  ): Promise<{ error?: StripeError | null; setupIntent?: { id: string; status: string } }>;
  confirmCardPayment(
    clientSecret: string,
  ): Promise<{ error?: StripeError | null; paymentIntent?: { id: string; status: string } }>;
}

declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeJs;
  }
}

let loading: Promise<StripeJs> | null = null;

export function loadStripe(scriptBase: string, publishableKey: string): Promise<StripeJs> {
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = `${scriptBase}/js.stripe.com/v3/`;
    script.onload = () =>
      window.Stripe ? resolve(window.Stripe(publishableKey)) : reject(new Error("Stripe.js did not load"));
    script.onerror = () => reject(new Error("Stripe.js did not load"));
    document.head.appendChild(script);
  });
  return loading;
}
