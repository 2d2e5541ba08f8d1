// Validates Teams bodies captured from webnet with Microsoft's own Adaptive Cards library.
// Usage: NODE_PATH=target/npm/node_modules node check_teams.js body1.json [body2.json ...]
// Prints "ok N" and exits 0 when every body passes; otherwise lists each problem and exits 1.
//
// `require("adaptivecards")` fails in Node (its `main` is ESM with extension-less imports), so
// the UMD bundle is loaded. Parsing and validateProperties need no DOM. The library does not
// report a missing version, wrong JSON types, empty FactSets or size: checked here.
const fs = require("fs");
const AC = require("adaptivecards/dist/adaptivecards.js");

const LIMIT = 28 * 1024;
const errs = [];
for (const file of process.argv.slice(2)) {
  const raw = fs.readFileSync(file);
  const where = (m) => errs.push(`${file}: ${m}`);
  if (raw.length > LIMIT) where(`body is ${raw.length} bytes > 28 KB`);
  const body = JSON.parse(raw.toString("utf8"));
  if (body.type !== "message") where('envelope: type must be "message"');
  const atts = body.attachments || [];
  if (atts.length !== 1) where(`envelope: ${atts.length} attachments`);
  const att = atts[0] || {};
  if (att.contentType !== "application/vnd.microsoft.card.adaptive") where("envelope: contentType");
  const json = att.content;
  if (!json || typeof json.version !== "string") {
    where("card: version missing");
    continue;
  }
  for (const [name, v] of [["1.5", AC.Versions.v1_5], ["1.2", AC.Versions.v1_2]]) {
    const ctx = new AC.SerializationContext(v);
    const card = new AC.AdaptiveCard();
    card.parse(json, ctx);
    for (let i = 0; i < ctx.eventCount; i++) {
      const e = ctx.getEventAt(i);
      where(`parse (target ${name}) ${AC.ValidationEvent[e.event]}: ${e.message}`);
    }
    for (const e of card.validateProperties().validationEvents) {
      where(`validate (target ${name}) ${AC.ValidationEvent[e.event]}: ${e.message}`);
    }
  }
  for (const el of json.body || []) {
    if (el.type === "TextBlock" && (typeof el.text !== "string" || el.wrap !== true)) {
      where(`TextBlock without string text or wrap: true: ${JSON.stringify(el).slice(0, 200)}`);
    }
    if (el.type === "FactSet") {
      if (!Array.isArray(el.facts) || el.facts.length === 0) where("FactSet empty");
      for (const f of el.facts || []) {
        if (typeof f.title !== "string" || typeof f.value !== "string") where("Fact not strings");
      }
    }
  }
}
if (errs.length) {
  console.error(errs.join("\n"));
  process.exit(1);
}
console.log(`ok ${process.argv.length - 2}`);
