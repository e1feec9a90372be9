// Every public export of the package has a doc comment, so the API reference
// (`npm run docs:api`, TypeDoc) documents all of it. Uses the TypeScript
// compiler API directly: much faster than running TypeDoc.
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ENTRY = `${ROOT}src/index.ts`;

function loadProgram(): { checker: ts.TypeChecker; entry: ts.SourceFile } {
  const configPath = `${ROOT}tsconfig.json`;
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const program = ts.createProgram([ENTRY], { ...parsed.options, noEmit: true });
  const entry = program.getSourceFile(ENTRY);
  if (!entry) throw new Error(`cannot load ${ENTRY}`);
  return { checker: program.getTypeChecker(), entry };
}

function isInternal(decl: ts.Declaration): boolean {
  return ts.getJSDocTags(decl).some((t) => t.tagName.text === "internal");
}

function notPublic(member: ts.ClassElement | ts.TypeElement): boolean {
  if (member.name && ts.isPrivateIdentifier(member.name)) return true;
  const flags = ts.getCombinedModifierFlags(member);
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;
}

function hasDoc(symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== "";
}

/** `Export`, `Class.member` and `Interface.member` names that have no doc comment. */
function undocumented(): { checked: string[]; missing: string[] } {
  const { checker, entry } = loadProgram();
  const moduleSymbol = checker.getSymbolAtLocation(entry);
  if (!moduleSymbol) throw new Error("src/index.ts has no exports");
  const checked: string[] = [];
  const missing: string[] = [];
  const check = (name: string, symbol: ts.Symbol) => {
    checked.push(name);
    if (!hasDoc(symbol, checker)) missing.push(name);
  };
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const name = exported.getName();
    check(name, symbol);
    for (const decl of symbol.getDeclarations() ?? []) {
      if (!ts.isClassDeclaration(decl) && !ts.isInterfaceDeclaration(decl)) continue;
      for (const member of decl.members) {
        if (!member.name || ts.isConstructorDeclaration(member) || notPublic(member) || isInternal(member)) continue;
        if (ts.isIndexSignatureDeclaration(member)) continue;
        const memberSymbol = checker.getSymbolAtLocation(member.name);
        if (memberSymbol) check(`${name}.${memberSymbol.getName()}`, memberSymbol);
      }
    }
  }
  return { checked, missing: [...new Set(missing)] };
}

describe("public API doc comments", () => {
  const { checked, missing } = undocumented();

  it("checks every export of src/index.ts and the members of exported classes and interfaces", () => {
    for (const name of [
      "StageIO",
      "runStage",
      "StageManifest",
      "StageIO.trackInput",
      "StageIO.finalize",
      "StageOptions.outputBase",
      "ATTR",
    ]) {
      expect(checked).toContain(name);
    }
    // Private members and @internal ones are not part of the API.
    expect(checked.filter((n) => n.startsWith("StageIO.")).some((n) => n === "StageIO.track" || n === "StageIO.finalizeNow")).toBe(false);
  });

  it("finds no public export without a doc comment", () => {
    expect(missing, `add a /** doc comment */ to: ${missing.join(", ")}`).toEqual([]);
  });
});
