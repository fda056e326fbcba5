declare module 'parse-prometheus-text-format' {
  /** Parses Prometheus text exposition format into metric families (the library ships no types). */
  export default function parsePrometheusTextFormat(text: string): unknown[];
}

declare module 'oidc-provider' {
  /** The OpenID provider the SSO tests run (test/support/oidc-provider.ts); the library ships no types. */
  /* eslint-disable @typescript-eslint/no-explicit-any -- its configuration and context are large untyped objects */
  export type Configuration = Record<string, any>;
  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    callback(): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
    Grant: any;
  }
  /* eslint-enable @typescript-eslint/no-explicit-any */
}
