import { ExportGate } from "./export-gate.js";

/** How many spans went to the backend and how many did not. */
export class ExportAccount extends ExportGate {
  /** Sampled spans handed to the export queue. */
  handed = 0;

  /** Everything handed over that did not arrive: failures, queue overflow, spans still queued at exit. */
  get dropped(): number {
    return Math.max(0, this.handed - this.exported);
  }
}
