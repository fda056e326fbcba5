declare module 'parse-prometheus-text-format' {
  /** Parses Prometheus text exposition format into metric families (the library ships no types). */
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
