// Injected into the browser bundle (scripts/build-browser.js): what Node code reads of `process`.
export const process = { env: {} };
