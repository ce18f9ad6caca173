// ESLint for the browser ES modules of the chat page and the trace viewer (no build step: the
// files are served as written). Run from this folder by `make lint`.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    files: ["src/onehub/web/static/js/**/*.js", "collector/src/onehub_collector/web/static/js/**/*.js"],
    ignores: ["src/onehub/web/static/js/vendor/**"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "prefer-const": "error",
      "no-var": "error",
    },
  },
];
