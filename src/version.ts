/** stagetrace's version, as in package.json (a test holds the two, and the Python package's, together). */
export const VERSION = "0.1.0";
