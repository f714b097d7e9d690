/** Content types for inline previews, by file name; anything unknown is served as bytes, never sniffed. */
const TYPES: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  bmp: "image/bmp",
  ico: "image/x-icon",
  svg: "image/svg+xml",
  pdf: "application/pdf",
};

const TEXT = new Set(
  "txt md markdown rst log csv tsv json jsonl yaml yml toml ini cfg conf xml html htm css js mjs cjs ts tsx jsx py rb go rs c h cc cpp hpp java kt swift sh bash zsh fish sql env gitignore dockerfile makefile lock properties tex".split(" "),
);

export function contentTypeFor(name: string): string {
  const lower = name.toLowerCase();
  const dot = lower.lastIndexOf(".");
  const ext = dot < 0 ? lower : lower.slice(dot + 1);
  const known = TYPES[ext];
  if (known !== undefined) return known;
  // Text is always served as plain text, so an HTML file cannot run as a page of the UI.
  if (TEXT.has(ext) || dot < 0) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

/** Which kind of inline preview the client offers. */
export function previewKind(name: string): "image" | "text" | "none" {
  const type = contentTypeFor(name);
  if (type.startsWith("image/")) return "image";
  if (type.startsWith("text/")) return "text";
  return "none";
}
