// The suede web UI: a hash-routed Preact app (the URL names view, snapshot and path, so links are direct).
import { diffLines } from "diff";
import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { type ChangeInfo, type DiffPage, type Entry, type Info, type ListPage, PAGE, type SnapshotInfo, type Version, decodePath, encodePath, fetchText, fileUrl, getJson } from "./api.ts";
import { formatBytes, formatMode, formatTime } from "../../util/human.ts";

type Route =
  | { view: "timeline" }
  | { view: "browse"; snapshot: number; path: string }
  | { view: "history"; snapshot: number; path: string }
  | { view: "compare"; a: number; b: number; path: string }
  | { view: "info" };

function parseRoute(hash: string): Route {
  const [view, x, y, z] = hash.replace(/^#\/?/, "").split("/");
  if (view === "browse" && x) return { view, snapshot: Number(x), path: y ?? "" };
  if (view === "history" && x && y) return { view, snapshot: Number(x), path: y };
  if (view === "compare" && x && y) return { view, a: Number(x), b: Number(y), path: z ?? "" };
  if (view === "info") return { view };
  return { view: "timeline" };
}

function href(route: Route): string {
  switch (route.view) {
    case "timeline":
      return "#/";
    case "info":
      return "#/info";
    case "browse":
      return `#/browse/${route.snapshot}/${route.path}`;
    case "history":
      return `#/history/${route.snapshot}/${route.path}`;
    case "compare":
      return `#/compare/${route.a}/${route.b}/${route.path}`;
  }
}

function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/** Loads JSON for the given key; re-fetches when the key changes. */
function useJson<T>(path: string, params: Record<string, string | number>): { data: T | null; error: string | null } {
  const key = `${path}?${JSON.stringify(params)}`;
  const [state, setState] = useState<{ key: string; data: T | null; error: string | null }>({ key: "", data: null, error: null });
  useEffect(() => {
    let live = true;
    getJson<T>(path, params).then(
      (data) => live && setState({ key, data, error: null }),
      (error: Error) => live && setState({ key, data: null, error: error.message }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return state.key === key ? state : { data: null, error: null };
}

function Status({ error }: { error: string | null }) {
  return error !== null ? <p class="error" role="alert">{error}</p> : <p class="loading" aria-live="polite">Loading…</p>;
}

function Chart({ snapshots }: { snapshots: SnapshotInfo[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (box.current === null || snapshots.length === 0) return;
    let cumulative = 0;
    const xs = snapshots.map((s) => s.timeMs / 1000);
    const stored = snapshots.map((s) => (cumulative += s.stats.bytesAdded) / 2 ** 20);
    const added = snapshots.map((s) => s.stats.bytesAdded / 2 ** 20);
    const size = snapshots.map((s) => s.stats.sizeBytes / 2 ** 20);
    const dark = matchMedia("(prefers-color-scheme: dark)").matches;
    const axis = { stroke: dark ? "#ccc" : "#333", grid: { stroke: dark ? "#333" : "#e5e5e5" } };
    const plot = new uPlot(
      {
        width: box.current.clientWidth,
        height: 220,
        series: [
          {},
          { label: "data added (MiB, cumulative)", stroke: "#2a7ae2", width: 2 },
          { label: "added by snapshot (MiB)", stroke: "#e67e22", width: 1, points: { show: true } },
          { label: "snapshot size (MiB)", stroke: "#27ae60", width: 1, dash: [4, 4] },
        ],
        axes: [axis, axis],
      },
      [xs, stored, added, size],
      box.current,
    );
    const onResize = () => box.current && plot.setSize({ width: box.current.clientWidth, height: 220 });
    addEventListener("resize", onResize);
    return () => {
      removeEventListener("resize", onResize);
      plot.destroy();
    };
  }, [snapshots]);
  return <div ref={box} class="chart" aria-label="vault growth chart" />;
}

function Timeline() {
  const { data, error } = useJson<SnapshotInfo[]>("snapshots", {});
  if (data === null) return <Status error={error} />;
  if (data.length === 0) return <p>This vault has no snapshots yet.</p>;
  const newest = [...data].reverse();
  return (
    <section>
      <h1>Timeline</h1>
      <Chart snapshots={data} />
      <div class="scroll">
        <table class="list">
          <thead>
            <tr>
              <th>#</th><th>time</th><th>host</th><th>tags</th><th class="num">files</th><th class="num">size</th><th class="num">added</th><th>compare</th>
            </tr>
          </thead>
          <tbody>
            {newest.map((s, i) => (
              <tr key={s.number}>
                <td><a href={href({ view: "browse", snapshot: s.number, path: "" })} data-testid={`snapshot-${s.number}`}>{s.number}</a>{s.pinned ? <span class="pin"> pinned</span> : null}</td>
                <td>{formatTime(s.timeMs)}</td>
                <td>{s.host}</td>
                <td>{s.tags.join(", ")}</td>
                <td class="num">{s.stats.files}</td>
                <td class="num">{formatBytes(s.stats.sizeBytes)}</td>
                <td class="num">{formatBytes(s.stats.bytesAdded)}</td>
                <td>{newest[i + 1] ? <a href={href({ view: "compare", a: newest[i + 1]!.number, b: s.number, path: "" })}>vs {newest[i + 1]!.number}</a> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Breadcrumbs({ path, link }: { path: string; link: (encoded: string) => string }) {
  const parts = decodePath(path).split("/").filter((p) => p !== "");
  return (
    <nav class="crumbs" aria-label="breadcrumbs">
      <a href={link("")}>/</a>
      {parts.map((part, i) => (
        <span key={i}>
          {i > 0 ? " / " : " "}
          <a href={link(encodePath(`/${parts.slice(0, i + 1).join("/")}`))}>{part}</a>
        </span>
      ))}
    </nav>
  );
}

/** Arrow keys move between the rows' links; Backspace goes to the parent folder. */
function onListKeys(event: KeyboardEvent, parent: string | null): void {
  const target = event.target as HTMLElement;
  if (target instanceof HTMLInputElement) return;
  const links = [...document.querySelectorAll<HTMLAnchorElement>("table.list tbody a.row-link")];
  const index = links.indexOf(target as HTMLAnchorElement);
  if (event.key === "ArrowDown" || event.key === "j") links[Math.min(links.length - 1, index + 1)]?.focus();
  else if (event.key === "ArrowUp" || event.key === "k") links[Math.max(0, index - 1)]?.focus();
  else if (event.key === "Backspace" && parent !== null) location.hash = parent;
  else return;
  event.preventDefault();
}

function parentOf(path: string): string | null {
  const text = decodePath(path);
  if (text === "/") return null;
  const up = text.slice(0, text.lastIndexOf("/"));
  return up === "" ? "" : encodePath(up);
}

function Pager({ total, offset, setOffset }: { total: number; offset: number; setOffset: (n: number) => void }) {
  if (total <= PAGE) return <p class="count">{total} entries</p>;
  return (
    <p class="pager">
      <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>◀ previous</button>
      <span>{offset + 1}–{Math.min(total, offset + PAGE)} of {total}</span>
      <button disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>next ▶</button>
    </p>
  );
}

function Preview({ snapshot, entry }: { snapshot: number; entry: Entry }) {
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    setText(null);
    if (entry.preview === "text") fetchText(snapshot, entry.path).then(setText, (e: Error) => setText(`(${e.message})`));
  }, [snapshot, entry.path]);
  return (
    <aside class="preview" aria-label="preview">
      <h2>{entry.name}</h2>
      <p>
        {formatBytes(entry.size)} · {formatMode(entry.type, entry.mode)} · {entry.user || entry.uid}/{entry.group || entry.gid} · {formatTime(entry.mtimeMs)}
      </p>
      <p class="actions">
        <a href={fileUrl(snapshot, entry.path, { download: "1" })} download={entry.name} data-testid="download">Download</a>
        <a href={href({ view: "history", snapshot, path: entry.path })}>History</a>
      </p>
      {entry.unreadable !== undefined ? <p class="error">Unreadable at backup time: {entry.unreadable}</p> : null}
      {entry.preview === "image" ? <img src={fileUrl(snapshot, entry.path)} alt={entry.name} /> : null}
      {entry.preview === "text" ? <pre class="text">{text ?? "Loading…"}{entry.size > 1 << 20 ? "\n… (first MiB shown)" : ""}</pre> : null}
    </aside>
  );
}

function Browse({ snapshot, path }: { snapshot: number; path: string }) {
  const [offset, setOffset] = useState(0);
  const [sort, setSort] = useState<{ key: string; order: "asc" | "desc" }>({ key: "name", order: "asc" });
  const [filter, setFilter] = useState("");
  const [selected, setSelected] = useState<Entry | null>(null);
  useEffect(() => {
    setOffset(0);
    setSelected(null);
  }, [snapshot, path, filter, sort.key, sort.order]);
  const { data, error } = useJson<ListPage>("list", { s: snapshot, p: path, offset, limit: PAGE, sort: sort.key, order: sort.order, filter });
  const parent = parentOf(path);
  const link = (p: string) => href({ view: "browse", snapshot, path: p });
  const header = (key: string, label: string, cls = "") => (
    <th class={cls} aria-sort={sort.key === key ? (sort.order === "asc" ? "ascending" : "descending") : "none"}>
      <button class="sort" onClick={() => setSort({ key, order: sort.key === key && sort.order === "asc" ? "desc" : "asc" })}>
        {label}
        {sort.key === key ? (sort.order === "asc" ? " ▲" : " ▼") : ""}
      </button>
    </th>
  );
  return (
    <section onKeyDown={(e) => onListKeys(e, parent === null ? null : link(parent))}>
      <h1>Snapshot {snapshot}</h1>
      <Breadcrumbs path={path} link={link} />
      <div class="toolbar">
        <input type="search" placeholder="Filter this folder" aria-label="filter" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        <a href={`/api/archive?${new URLSearchParams({ s: String(snapshot), p: path, format: "tar" })}`}>Download .tar</a>
        <a href={`/api/archive?${new URLSearchParams({ s: String(snapshot), p: path, format: "zip" })}`}>.zip</a>
        {path !== "" ? <a href={href({ view: "history", snapshot, path })}>Folder history</a> : null}
      </div>
      {data === null ? (
        <Status error={error} />
      ) : (
        <div class="split">
          <div class="scroll">
            <table class="list">
              <thead>
                <tr>
                  {header("name", "name")}
                  {header("size", "size", "num")}
                  <th>mode</th>
                  <th>owner</th>
                  {header("mtime", "modified")}
                </tr>
              </thead>
              <tbody>
                {parent !== null ? (
                  <tr>
                    <td colSpan={5}><a class="row-link" href={link(parent)}>.. (parent folder)</a></td>
                  </tr>
                ) : null}
                {data.entries.map((entry) => (
                  <tr key={entry.path} class={selected?.path === entry.path ? "selected" : ""}>
                    <td>
                      {entry.type === "dir" ? (
                        <a class="row-link dir" href={link(entry.path)}>{entry.name}/</a>
                      ) : (
                        <a
                          class="row-link"
                          href={`#${entry.path}`}
                          onClick={(e) => {
                            e.preventDefault();
                            setSelected(entry);
                          }}
                        >
                          {entry.name}
                        </a>
                      )}
                      {entry.linkTarget !== undefined ? <span class="muted"> → {entry.linkTarget}</span> : null}
                      {entry.type !== "file" && entry.type !== "dir" && entry.type !== "symlink" ? <span class="muted"> ({entry.type})</span> : null}
                    </td>
                    <td class="num">{entry.type === "dir" ? "" : formatBytes(entry.size)}</td>
                    <td class="mono">{formatMode(entry.type, entry.mode)}</td>
                    <td>{entry.user || entry.uid}/{entry.group || entry.gid}</td>
                    <td>{formatTime(entry.mtimeMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager total={data.total} offset={offset} setOffset={setOffset} />
          </div>
          {selected !== null && selected.type === "file" ? <Preview snapshot={snapshot} entry={selected} /> : null}
        </div>
      )}
    </section>
  );
}

function TextDiff({ path, a, b }: { path: string; a: number; b: number }) {
  const [texts, setTexts] = useState<[string, string] | string | null>(null);
  useEffect(() => {
    setTexts(null);
    Promise.all([fetchText(a, path), fetchText(b, path)]).then(setTexts, (e: Error) => setTexts(e.message));
  }, [path, a, b]);
  const rows = useMemo(() => {
    if (texts === null || typeof texts === "string") return [];
    // Side by side: a removed run next to the added run that replaced it, common lines on both sides.
    const out: { left: string | null; right: string | null; kind: string }[] = [];
    const lines = (value: string) => value.replace(/\n$/, "").split("\n");
    const parts = diffLines(texts[0], texts[1]);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.removed) {
        const removed = lines(part.value);
        const next = parts[i + 1];
        const added = next?.added === true ? (i++, lines(next.value)) : [];
        for (let j = 0; j < Math.max(removed.length, added.length); j++) out.push({ left: removed[j] ?? null, right: added[j] ?? null, kind: "change" });
      } else if (part.added) {
        for (const line of lines(part.value)) out.push({ left: null, right: line, kind: "change" });
      } else {
        for (const line of lines(part.value)) out.push({ left: line, right: line, kind: "same" });
      }
    }
    return out;
  }, [texts]);
  if (texts === null) return <p class="loading">Loading diff…</p>;
  if (typeof texts === "string") return <p class="error">{texts}</p>;
  return (
    <div class="scroll">
      <table class="diff" aria-label={`diff of snapshot ${a} and ${b}`}>
        <thead>
          <tr><th>snapshot {a}</th><th>snapshot {b}</th></tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i} class={row.kind}>
              <td class={row.left === null ? "blank" : row.kind === "change" ? "del" : ""}>{row.left ?? ""}</td>
              <td class={row.right === null ? "blank" : row.kind === "change" ? "add" : ""}>{row.right ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function History({ snapshot, path }: { snapshot: number; path: string }) {
  const { data, error } = useJson<{ displayPath: string; versions: Version[] }>("history", { p: path });
  const [pair, setPair] = useState<number[]>([]);
  if (data === null) return <Status error={error} />;
  const present = data.versions.filter((v) => v.node !== null);
  const isText = present.some((v) => v.node?.type === "file" && v.node.preview === "text");
  const toggle = (n: number) => setPair(pair.includes(n) ? pair.filter((x) => x !== n) : [...pair, n].slice(-2));
  const [a, b] = [...pair].sort((x, y) => x - y);
  return (
    <section>
      <h1>History of {data.displayPath}</h1>
      <p><a href={href({ view: "browse", snapshot, path: parentOf(path) ?? "" })}>back to snapshot {snapshot}</a></p>
      <div class="scroll">
        <table class="list">
          <thead>
            <tr><th>snapshot</th><th>time</th><th>state</th><th class="num">size</th><th>modified</th>{isText ? <th>diff</th> : null}</tr>
          </thead>
          <tbody>
            {data.versions.map((v) => (
              <tr key={v.snapshot.number} class={v.changed ? "changed" : "muted-row"}>
                <td><a href={href({ view: "browse", snapshot: v.snapshot.number, path: parentOf(path) ?? "" })}>{v.snapshot.number}</a></td>
                <td>{formatTime(v.snapshot.timeMs)}</td>
                <td>{v.node === null ? (v.changed ? "removed" : "absent") : v.changed ? "changed" : "same"}</td>
                <td class="num">{v.node === null ? "" : formatBytes(v.node.size)}</td>
                <td>{v.node === null ? "" : formatTime(v.node.mtimeMs)}</td>
                {isText ? (
                  <td>
                    {v.node?.type === "file" ? (
                      <input type="checkbox" aria-label={`compare version ${v.snapshot.number}`} checked={pair.includes(v.snapshot.number)} onChange={() => toggle(v.snapshot.number)} />
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {isText ? (a !== undefined && b !== undefined ? <TextDiff path={path} a={a} b={b} /> : <p class="hint">Tick two versions to see a side-by-side diff.</p>) : null}
    </section>
  );
}

const KIND_LABEL: Record<ChangeInfo["kind"], string> = { added: "added", removed: "removed", modified: "changed", metadata: "metadata", type: "type changed" };

function Compare({ a, b, path }: { a: number; b: number; path: string }) {
  const [offset, setOffset] = useState(0);
  useEffect(() => setOffset(0), [a, b, path]);
  const snapshots = useJson<SnapshotInfo[]>("snapshots", {});
  const { data, error } = useJson<DiffPage>("diff", { a, b, p: path, offset, limit: PAGE });
  const link = (p: string) => href({ view: "compare", a, b, path: p });
  const pick = (which: "a" | "b") => (e: Event) => {
    const n = Number((e.target as HTMLSelectElement).value);
    location.hash = href({ view: "compare", a: which === "a" ? n : a, b: which === "b" ? n : b, path });
  };
  const options = (snapshots.data ?? []).map((s) => <option key={s.number} value={s.number}>{s.number} · {formatTime(s.timeMs)}</option>);
  return (
    <section>
      <h1>Compare snapshots</h1>
      <div class="toolbar">
        <label>from <select aria-label="from snapshot" value={a} onChange={pick("a")}>{options}</select></label>
        <label>to <select aria-label="to snapshot" value={b} onChange={pick("b")}>{options}</select></label>
      </div>
      <Breadcrumbs path={path} link={link} />
      {data === null ? (
        <Status error={error} />
      ) : (
        <>
          <p class="summary">
            {data.counts.added} added · {data.counts.removed} removed · {data.counts.modified} changed · {data.counts.metadata + data.counts.type} other ·
            {" "}changed files {formatBytes(data.bytesBefore)} → {formatBytes(data.bytesAfter)}
          </p>
          <div class="scroll">
            <table class="list">
              <thead>
                <tr><th>change</th><th>path</th><th class="num">before</th><th class="num">after</th></tr>
              </thead>
              <tbody>
                {data.changes.map((ch) => {
                  const node = ch.after ?? ch.before!;
                  return (
                    <tr key={ch.path} class={`kind-${ch.kind}`}>
                      <td>{KIND_LABEL[ch.kind]}</td>
                      <td>
                        {node.type === "dir" ? (
                          <a class="row-link dir" href={link(ch.path)}>{ch.displayPath}/</a>
                        ) : (
                          <a class="row-link" href={href({ view: "history", snapshot: ch.after ? b : a, path: ch.path })}>{ch.displayPath}</a>
                        )}
                      </td>
                      <td class="num">{ch.before && ch.before.type !== "dir" ? formatBytes(ch.before.size) : ""}</td>
                      <td class="num">{ch.after && ch.after.type !== "dir" ? formatBytes(ch.after.size) : ""}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <Pager total={data.total} offset={offset} setOffset={setOffset} />
          </div>
        </>
      )}
    </section>
  );
}

function VaultInfo() {
  const { data, error } = useJson<Info>("info", {});
  if (data === null) return <Status error={error} />;
  const facts: [string, string][] = [
    ["file", data.path],
    ["format version", String(data.formatVersion)],
    ["file size", formatBytes(data.fileSizeBytes)],
    ["live data", formatBytes(data.liveBytes)],
    ["garbage (prune reclaims)", data.garbageBytes === null ? "unknown (a snapshot is damaged)" : formatBytes(data.garbageBytes)],
    ["snapshots", String(data.snapshots)],
    ["chunks", String(data.chunks)],
    ["unique data", formatBytes(data.uniqueDataBytes)],
    ["logical data (all snapshots)", formatBytes(data.logicalBytes)],
    ["deduplication ratio", `${data.deduplicationRatio.toFixed(2)}×`],
    ["compression ratio", `${data.compressionRatio.toFixed(2)}×`],
  ];
  return (
    <section>
      <h1>Vault</h1>
      <dl class="facts">
        {facts.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
      </dl>
      <h2>Key slots</h2>
      <table class="list">
        <thead>
          <tr><th>slot</th><th>kind</th><th>KDF</th><th>created</th><th></th></tr>
        </thead>
        <tbody>
          {data.keySlots.map((slot) => (
            <tr key={slot.index}>
              <td>{slot.index}</td>
              <td>{slot.kind}</td>
              <td>argon2id {slot.kdf.memoryKiB} KiB × {slot.kdf.iterations} it × {slot.kdf.parallelism}{slot.belowFloor ? " (weak: test settings)" : ""}</td>
              <td>{slot.createdMs === null ? "" : formatTime(slot.createdMs)}</td>
              <td>{slot.unlocked ? "unlocked this session" : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function App() {
  const route = useRoute();
  const current = route.view;
  let body;
  switch (route.view) {
    case "timeline":
      body = <Timeline />;
      break;
    case "browse":
      body = <Browse snapshot={route.snapshot} path={route.path} />;
      break;
    case "history":
      body = <History snapshot={route.snapshot} path={route.path} />;
      break;
    case "compare":
      body = <Compare a={route.a} b={route.b} path={route.path} />;
      break;
    case "info":
      body = <VaultInfo />;
      break;
  }
  return (
    <>
      <header>
        <a class="brand" href="#/">suede</a>
        <nav aria-label="main">
          <a href="#/" aria-current={current === "timeline" ? "page" : undefined}>Timeline</a>
          <a href="#/info" aria-current={current === "info" ? "page" : undefined}>Vault</a>
        </nav>
        <span class="readonly">read-only</span>
      </header>
      <main>{body}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
