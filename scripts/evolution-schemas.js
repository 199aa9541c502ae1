// Exports the Evolution API server's request schemas (every `*.schema.ts` at a tag) as the JSON
// data `src/sim/evolution/schemas.json` holds: `{name: {source, schema}}`, `$id`s dropped.
//
//   cd <evolution-api checkout> && node <harness>/scripts/evolution-schemas.js [tag] \
//     > <harness>/src/sim/evolution/schemas.json          (tag: 2.3.6)
//
// The TypeScript is evaluated after stripping imports and type annotations; `uuid.v4`,
// `EventController.events` and `Integration` (imports) are given their upstream values.
const TAG = process.argv[2] || '2.3.6';
const { execSync } = require('child_process');
const files = execSync(`git ls-tree -r --name-only ${TAG} src | grep 'schema.ts$' | grep -v validate.schema.ts`).toString().trim().split('\n');
const S = {}; const origin = {};
// src/api/types/wa.types.ts `Integration`
const INTEGRATION = { WHATSAPP_BAILEYS: 'WHATSAPP-BAILEYS', WHATSAPP_BUSINESS: 'WHATSAPP-BUSINESS', EVOLUTION: 'EVOLUTION' };
// event.schema etc may import EventController events: provide a stub list from upstream
const EV = ['APPLICATION_STARTUP','QRCODE_UPDATED','MESSAGES_SET','MESSAGES_UPSERT','MESSAGES_EDITED','MESSAGES_UPDATE','MESSAGES_DELETE','SEND_MESSAGE','SEND_MESSAGE_UPDATE','CONTACTS_SET','CONTACTS_UPSERT','CONTACTS_UPDATE','PRESENCE_UPDATE','CHATS_SET','CHATS_UPSERT','CHATS_UPDATE','CHATS_DELETE','GROUPS_UPSERT','GROUP_UPDATE','GROUP_PARTICIPANTS_UPDATE','CONNECTION_UPDATE','LABELS_EDIT','LABELS_ASSOCIATION','CALL','TYPEBOT_START','TYPEBOT_CHANGE_STATUS','REMOVE_INSTANCE','LOGOUT_INSTANCE','INSTANCE_CREATE','INSTANCE_DELETE','STATUS_INSTANCE'];
for (const f of files) {
  let src = execSync(`git show ${TAG}:${f}`).toString();
  src = src.replace(/^export \* from.*$/gm, '');
  src = src.replace(/^import[\s\S]*?;\s*$/gm, '');
  src = src.replace(/export const (\w+)\s*:\s*JSONSchema7(Definition)?\s*=/g, 'S.$1 = __o.$1 = ');
  src = src.replace(/const (\w+)\s*:\s*JSONSchema7(Definition)?\s*=/g, 'const $1 =');
  src = src.replace(/\(\.\.\.propertyNames: string\[\]\): JSONSchema7/g, '(...propertyNames)');
  src = src.replace(/\(([a-zA-Z]+): string\[\]\)/g, '($1)');
  const __o = {};
  try {
    new Function('S','__o','v4','EventController','Integration', src)(S, __o, () => 'x', {events: EV}, INTEGRATION);
  } catch (e) { console.error(f, e.message); }
  for (const k of Object.keys(__o)) origin[k] = f;
}
function strip(o){ if (Array.isArray(o)) return o.map(strip); if (o && typeof o==='object'){ const r={}; for (const [k,v] of Object.entries(o)) if(k!=='$id') r[k]=strip(v); return r;} return o; }
const out = {}; for (const k of Object.keys(S).sort()) out[k] = {source: origin[k], schema: strip(S[k])};
process.stdout.write(JSON.stringify(out));
