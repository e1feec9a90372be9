import type { Attributes } from "@opentelemetry/api";
import { FILE_ATTR } from "../conventions.js";
import type { FileFingerprint } from "../fs/file-fingerprint.js";
import type { FileRole } from "../types.js";

/** What a `stagetrace.file` span event says about one tracked file (its metadata aside): its fingerprint, and how the stage tracked it. */
export interface FileEventFields extends Pick<
  FileFingerprint,
  "path" | "name" | "kind" | "exists" | "size" | "modified" | "hash" | "hashAlgorithm"
> {
  role: FileRole;
  type: string;
  fromStage: string | null;
  /** Intermediates only. */
  retained?: boolean;
  /** Intermediates only. */
  reason?: string;
}

/**
 * The attributes of a `stagetrace.file` event, the one place that maps a
 * tracked file onto the span contract; `manifestFromSpan` reads them back.
 */
export function fileEventAttributes(f: FileEventFields): Attributes {
  const a: Attributes = {
    [FILE_ATTR.role]: f.role,
    [FILE_ATTR.path]: f.path,
    [FILE_ATTR.name]: f.name,
    [FILE_ATTR.type]: f.type,
    [FILE_ATTR.kind]: f.kind,
    [FILE_ATTR.exists]: f.exists,
  };
  if (f.size !== null) a[FILE_ATTR.size] = f.size;
  if (f.modified !== null) a[FILE_ATTR.modified] = f.modified;
  if (f.hash !== null && f.hashAlgorithm !== null) {
    a[FILE_ATTR.hashAlgorithm] = f.hashAlgorithm;
    a[FILE_ATTR.hashPrefix + f.hashAlgorithm] = f.hash;
  }
  if (f.fromStage !== null) a[FILE_ATTR.fromStage] = f.fromStage;
  if (f.role === "intermediate") {
    a[FILE_ATTR.retained] = f.retained ?? false;
    a[FILE_ATTR.reason] = f.reason ?? "";
  }
  return a;
}
