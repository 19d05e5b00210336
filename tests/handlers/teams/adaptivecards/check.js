#!/usr/bin/env node
// Adaptive Cards checked by Microsoft's own library (the npm package `adaptivecards`,
// version pinned in package.json beside this file), as its designer checks them.
//
// Reads JSON on standard input: one card, or a list of cards. Writes JSON on standard
// output: for one card, the list of what the library reported of it; for a list, one
// such list per card, in order. Each report is
//   {"phase": "Parse" | "Validation", "event": "RequiredInputsShouldHaveErrorMessage", …,
//    "message": "…", "type": "Input.Text", "id": "reason"}
// (`type` and `id` are those of the element or action it is about, when there is one).
// An empty list: nothing to report. Parse events are what `AdaptiveCard.parse` logged in
// its SerializationContext (unknown types, bad values); validation events are those of
// `validateProperties()` (missing or duplicate ids, required inputs without a label or an
// error message, too many actions, …), show-cards included.
//
// The library's browser bundle loads and parses without a DOM; nothing here renders.
"use strict";

const AC = require("adaptivecards/dist/adaptivecards.js");

function about(source) {
  if (!source || typeof source !== "object") {
    return {};
  }
  const found = {};
  if (typeof source.getJsonTypeName === "function") {
    found.type = source.getJsonTypeName();
  }
  if (source.id) {
    found.id = source.id;
  }
  return found;
}

function report(phase, entry) {
  return {
    phase: AC.ValidationPhase[phase] || String(phase),
    event: AC.ValidationEvent[entry.event] || String(entry.event),
    message: entry.message,
    ...about(entry.source),
  };
}

function check(json) {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  try {
    card.parse(json, context);
  } catch (error) {
    return [{ phase: "Parse", event: "Exception", message: String(error && error.stack) }];
  }
  const found = [];
  for (let i = 0; i < context.eventCount; i++) {
    const entry = context.getEventAt(i);
    found.push(report(entry.phase, entry));
  }
  for (const entry of card.validateProperties().validationEvents) {
    found.push(report(entry.phase, entry));
  }
  return found;
}

function main() {
  const chunks = [];
  process.stdin.on("data", (chunk) => chunks.push(chunk));
  process.stdin.on("end", () => {
    const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const output = Array.isArray(input) ? input.map(check) : check(input);
    process.stdout.write(JSON.stringify(output) + "\n");
  });
}

main();
