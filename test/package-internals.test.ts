import { trace } from "@opentelemetry/api";
import { TracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { createServer, request, Agent, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import {
  PINO_NEEDS_METADATA,
  sdkSpanEventList,
  setPinoInterpolationStringify,
  threadStreamWorker,
  unrefSockets,
} from "../src/package-internals.js";

// Each test here fails when an installed package no longer has the shape
// src/package-internals.ts relies on.

const unbounded = {
  attributeCountLimit: Infinity,
  attributeValueLengthLimit: Infinity,
  eventCountLimit: Infinity,
  attributePerEventCountLimit: Infinity,
};

describe("OpenTelemetry SDK span internals", () => {
  it("an unbounded SDK span hands out its own event list; what is appended is the ended span's event", () => {
    const provider = new TracerProvider({ spanLimits: unbounded });
    const span = provider.getTracer("t").startSpan("s");
    const list = sdkSpanEventList(span);
    expect(list).not.toBeNull();
    list!.push({ name: "appended", attributes: { k: "v" }, time: [1, 0], droppedAttributesCount: 0 });
    span.addEvent("added", { k: "w" });
    span.end();
    expect((span as unknown as ReadableSpan).events.map((e) => [e.name, e.attributes])).toEqual([
      ["appended", { k: "v" }],
      ["added", { k: "w" }],
    ]);
  });

  it("a span with default limits, one with only a value-length limit, and a non-recording span, get null (and so addEvent)", () => {
    const span = new TracerProvider().getTracer("t").startSpan("s");
    expect(sdkSpanEventList(span)).toBeNull();
    span.end();
    const short = new TracerProvider({ spanLimits: { ...unbounded, attributeValueLengthLimit: 8 } }).getTracer("t").startSpan("s");
    expect(sdkSpanEventList(short)).toBeNull();
    short.end();
    expect(sdkSpanEventList(trace.wrapSpanContext({ traceId: "1".repeat(32), spanId: "2".repeat(16), traceFlags: 1 }))).toBeNull();
  });
});

describe("pino internals", () => {
  it("the metadata symbol is pino's, and a destination that sets it is told each line's level", () => {
    expect(PINO_NEEDS_METADATA).toBe(pino.symbols.needsMetadataGsym);
    const seen: [number, string][] = [];
    const destination = {
      [PINO_NEEDS_METADATA]: true,
      lastLevel: 0,
      write(line: string) {
        seen.push([this.lastLevel, JSON.parse(line).msg]);
      },
    };
    const log = pino({ level: "debug" }, destination);
    log.debug("d");
    log.warn("w");
    expect(seen).toEqual([
      [20, "d"],
      [40, "w"],
    ]);
  });

  it("the interpolation stringify replaces what %j prints, in children too", () => {
    const lines: string[] = [];
    const log = pino({}, { write: (l: string) => void lines.push(l) });
    setPinoInterpolationStringify(log, () => '"censored"');
    log.info("value %j", { secret: 1 });
    log.child({ c: 1 }).info("child %j", { secret: 2 });
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['value "censored"', 'child "censored"']);
  });

  it("pino's worker-thread stream has its worker, which takes messages", async () => {
    const stream = pino.transport({ target: "pino/file", options: { destination: "/dev/null" } });
    await new Promise((resolve) => stream.once("ready", resolve));
    const worker = threadStreamWorker(stream);
    expect(typeof worker?.postMessage).toBe("function");
    worker!.postMessage({ code: "IGNORED" });
    stream.end();
  });
});

describe("node:http agent sockets", () => {
  let server: Server;
  const accepted: Socket[] = [];
  afterAll(() => {
    for (const s of accepted) s.destroy();
    server?.close();
  });

  /** How many TCP sockets keep the event loop alive while a request through `agent` waits for its response. */
  async function referencedSocketsDuringRequest(agent: Agent): Promise<number> {
    server ??= createServer(() => {}) // never answers
      .on("connection", (s) => {
        s.unref();
        accepted.push(s);
      })
      .listen(0, "127.0.0.1");
    server.unref();
    if (!server.listening) await new Promise((r) => server.once("listening", r));
    const port = (server.address() as AddressInfo).port;
    const req = request({ host: "127.0.0.1", port, agent, path: "/" });
    req.on("error", () => {});
    const socket = await new Promise<Socket>((r) => req.once("socket", (s) => (s.connecting ? s.once("connect", () => r(s)) : r(s))));
    const count = process.getActiveResourcesInfo().filter((t) => t === "TCPSocketWrap").length;
    req.destroy();
    socket.destroy();
    return count;
  }

  it("unrefSockets leaves a pending request's socket out of what keeps the process alive", async () => {
    const plain = await referencedSocketsDuringRequest(new Agent({ keepAlive: false }));
    const unref = await referencedSocketsDuringRequest(unrefSockets(new Agent({ keepAlive: false })));
    expect(unref).toBe(plain - 1);
  });
});
