// Why the kernel's hot paths are `public` while the rest of it is `package`: the module is no product, so
// an embedder never sees it, but Swift 6.3.1 does not inline a `package` `@inlinable` declaration into
// another module (not even with `@inline(__always)`: measured on this package and on a two-module probe;
// `-experimental-package-cmo` needs library evolution). The scan calls these once per document or value
// from MongoKit and AuditKit, so they are `public @inlinable`, their state `@usableFromInline internal`
// behind read-only `public` accessors. Everything else stays `package`.
