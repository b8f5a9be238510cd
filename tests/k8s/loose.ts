// Grafana's panel option types use TypeScript enums (LegendDisplayMode.List = "list"), which a JSON
// string cannot be assigned to. Loose<T> turns every enum into the union of its values and makes every
// field optional (Grafana fills defaults), while keeping names and types: a misspelled option or a
// wrong value still fails.
export type Loose<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer E>
      ? Array<Loose<E>>
      : T extends object
        ? { [K in keyof T]?: Loose<T[K]> }
        : T;
