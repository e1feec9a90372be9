// One process that imports one module and exits: `node import-only.mjs [module]`.
// Without a module it is an empty process, the floor every stage pays.
const name = process.argv[2];
if (name) await import(name);
