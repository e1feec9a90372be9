// A private certificate authority for TLS tests, made with openssl in a
// temporary directory: the CA, a server certificate for 127.0.0.1 and a
// client certificate, all signed by it. openssl is installed with apt-get
// (as root) when it is missing; otherwise the test fails, naming it.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./tmp.js";

export interface TlsFiles {
  dir: string;
  caCert: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  read(path: string): Buffer;
}

function ensureOpenssl(): void {
  if (spawnSync("openssl", ["version"]).status === 0) return;
  if (process.getuid?.() !== 0) throw new Error("openssl is missing and the tests do not run as root to install it: apt-get install openssl");
  process.stderr.write("test setup: openssl is missing; installing it with apt-get for the TLS tests\n");
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", "openssl"]]) {
    const r = spawnSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) throw new Error(`openssl is missing and "apt-get ${args.join(" ")}" failed`);
  }
}

export function makeTlsFiles(): TlsFiles {
  ensureOpenssl();
  const dir = tempDir();
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=stagetrace test CA");
  writeFileSync(p("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  writeFileSync(p("client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const [name, cn] of [["server", "127.0.0.1"], ["client", "stagetrace-client"]] as const) {
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
  }
  return {
    dir,
    caCert: p("ca.crt"),
    serverKey: p("server.key"),
    serverCert: p("server.crt"),
    clientKey: p("client.key"),
    clientCert: p("client.crt"),
    read: (path) => readFileSync(path),
  };
}
