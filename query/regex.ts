/**
 * PostgreSQL regular expressions (ARE, the `~` operators) run as JavaScript RegExps. The common
 * syntax is shared; this translates what differs: `.` matches newlines and `^`/`$` anchor the
 * whole string (ARE's defaults), POSIX bracket classes ([[:alpha:]]), the word-boundary escapes
 * \m \M \y \Y, \A \Z, and a leading `***=` (literal) or embedded options `(?i)`. Anything the
 * translation or RegExp rejects is 2201B "invalid regular expression".
 */
import { DataError } from "./pg_text.ts";

const posixClasses: Record<string, string> = {
  alpha: "a-zA-Z",
  digit: "0-9",
  alnum: "a-zA-Z0-9",
  upper: "A-Z",
  lower: "a-z",
  space: "\\s",
  blank: " \\t",
  punct: "!-\\/:-@\\[-`{-~",
  xdigit: "0-9A-Fa-f",
  word: "\\w",
  cntrl: "\\x00-\\x1f\\x7f",
  print: "\\x20-\\x7e",
  graph: "\\x21-\\x7e",
};

/** Translates an ARE pattern into a JavaScript pattern and flags. */
function translate(pattern: string, caseInsensitive: boolean): { source: string; flags: string } {
  let flags = caseInsensitive ? "is" : "s";
  let p = pattern;
  if (p.startsWith("***=")) {
    return { source: p.slice(4).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), flags };
  }
  if (p.startsWith("***:")) p = p.slice(4);
  const options = /^\(\?([bceiqmnpstwx]+)\)/.exec(p);
  if (options) {
    for (const option of options[1]!) {
      if (option === "i") flags = flags.includes("i") ? flags : flags + "i";
      else if (option === "c") flags = flags.replace("i", "");
      else if (option === "n" || option === "w") flags = flags.replace("s", "") + "m";
      else if (option === "q") {
        return {
          source: p.slice(options[0].length).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
          flags,
        };
      }
    }
    p = p.slice(options[0].length);
  }
  let out = "";
  let inBracket = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (inBracket) {
      if (c === "[" && p[i + 1] === ":") {
        const end = p.indexOf(":]", i + 2);
        const name = end < 0 ? undefined : p.slice(i + 2, end);
        const cls = name === undefined ? undefined : posixClasses[name];
        if (cls === undefined) throw invalid("invalid character class");
        out += cls;
        i = end + 1;
        continue;
      }
      if (c === "]" && !out.endsWith("[") && !out.endsWith("[^")) inBracket = false;
      if (c === "\\") {
        out += c + (p[++i] ?? "");
        continue;
      }
      out += c;
      continue;
    }
    if (c === "[") {
      inBracket = true;
      out += c;
      if (p[i + 1] === "^") out += p[++i];
      if (p[i + 1] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (c === "\\") {
      const next = p[++i];
      if (next === undefined) throw invalid("invalid escape \\ sequence");
      if (next === "m") out += "\\b(?=\\w)";
      else if (next === "M") out += "\\b(?<=\\w)";
      else if (next === "y") out += "\\b";
      else if (next === "Y") out += "\\B";
      else if (next === "A") out += "^";
      else if (next === "Z") out += "$";
      else out += "\\" + next;
      continue;
    }
    out += c;
  }
  if (inBracket) throw invalid("brackets [] not balanced");
  return { source: out, flags };
}

function invalid(detail: string): DataError {
  return new DataError("2201B", `invalid regular expression: ${detail}`);
}

const cache = new Map<string, RegExp>();
const cacheLimit = 256;

/** The compiled form of an ARE pattern; 2201B when it is not a valid expression. */
export function compileRegex(pattern: string, caseInsensitive: boolean): RegExp {
  const key = (caseInsensitive ? "i" : "c") + pattern;
  const known = cache.get(key);
  if (known !== undefined) return known;
  const { source, flags } = translate(pattern, caseInsensitive);
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw invalid(jsRegexMessage(message));
  }
  if (cache.size >= cacheLimit) cache.clear();
  cache.set(key, re);
  return re;
}

/** `text ~ pattern` (and ~*, !~, !~*). */
export function regexMatches(text: string, pattern: string, caseInsensitive: boolean): boolean {
  return compileRegex(pattern, caseInsensitive).test(text);
}

/** PostgreSQL's wording for what JavaScript's RegExp rejected. */
function jsRegexMessage(message: string): string {
  const detail = message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "");
  if (/Unterminated group|Unmatched '\)'/.test(detail)) return "parentheses () not balanced";
  if (/Unterminated character class/.test(detail)) return "brackets [] not balanced";
  if (/Nothing to repeat/.test(detail)) return "quantifier operand invalid";
  if (/numbers out of order|Incomplete quantifier/.test(detail)) {
    return "invalid repetition count(s)";
  }
  if (/\\ at end of pattern/.test(detail)) return "invalid escape \\ sequence";
  return detail;
}
