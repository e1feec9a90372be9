// Prints whether this process, started under `stagetrace run`, was given an
// agent to report to (the variable BENCH_AGENT_ENV names, STAGETRACE_AGENT by default).
const name = process.env.BENCH_AGENT_ENV || "STAGETRACE_AGENT";
process.stdout.write(JSON.stringify({ agent: Boolean(process.env[name]), variable: name }) + "\n");
