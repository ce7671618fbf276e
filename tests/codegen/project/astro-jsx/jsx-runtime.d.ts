// The JSX of an Astro page's template (its HTML elements take any attribute; a component takes its
// own props and Astro's `client:*` directives), for the page converted to TSX line for line.

export namespace JSX {
  type Element = unknown;
  type ElementType = string | ((props: any) => unknown);
  interface ElementChildrenAttribute {
    children: {};
  }
  interface IntrinsicAttributes {
    "client:load"?: boolean;
    "client:idle"?: boolean;
    "client:visible"?: boolean;
    "client:only"?: string;
  }
  interface IntrinsicElements {
    [element: string]: { [attribute: string]: unknown };
  }
}

export declare const Fragment: unique symbol;
export declare function jsx(type: unknown, props: unknown, key?: unknown): JSX.Element;
export declare function jsxs(type: unknown, props: unknown, key?: unknown): JSX.Element;
