// A minimal OTLP/HTTP JSON receiver for the benchmarks (the tests' receiver,
// test/support/otlp-receiver.ts, is TypeScript and decodes far more).
// behaviour: "ok" answers 200 {} and counts spans and log records; "hang"
// never answers. `refusingUrl()` gives a URL where nothing listens.
import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";

export async function startReceiver(behaviour = "ok") {
  let spans = 0;
  let logRecords = 0;
  let requests = 0;
  const sockets = new Set();
  const waiters = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      requests++;
      if (behaviour === "hang") return;
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      try {
        const data = JSON.parse(body.toString("utf8"));
        for (const rs of data.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans += ss.spans?.length ?? 0;
        for (const rl of data.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) logRecords += sl.logRecords?.length ?? 0;
      } catch {
        // protobuf or garbage: counted as a request only
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
      for (const w of waiters) w();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    get spans() {
      return spans;
    },
    get logRecords() {
      return logRecords;
    },
    get requests() {
      return requests;
    },
    /**
     * Resolves once `n` spans have arrived (they are counted in OTLP/JSON only);
     * rejects after `timeoutMs` without them, so a case cannot wait forever.
     */
    waitForSpans(n, timeoutMs = 120_000) {
      if (spans >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(
            new Error(
              `the receiver got ${spans} of ${n} spans in ${timeoutMs} ms (${requests} requests; spans are counted in OTLP/JSON only)`,
            ),
          );
        }, timeoutMs);
        const w = () => {
          if (spans >= n) {
            waiters.delete(w);
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.add(w);
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens: connections are refused at once. */
export async function refusingUrl() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
