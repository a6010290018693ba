/* Inbox (made for a phone) and the alert page: the reading with its unit, large action
   buttons, the timeline in words, emergency contacts, and the notices each recipient
   got (or would have got) as they read them. */
import {api, badge, h} from "../dom.js";
import {fmtReading} from "../format.js";
import {S, fail, setNav, time} from "../state.js";
import {errorText, fieldName, hazard, hazardField, t, unitOf} from "../words.js";

/** "读数 26 %LEL（当前 30 %LEL）": the value that raised the alert and the device's latest. */
export function readingLine(a) {
  const field = (a.reading && a.reading.field) || hazardField(a.hazard);
  const parts = [];
  if (a.value !== null && a.value !== undefined && field) {
    parts.push(`${t("alarm_value")} ${fmtReading(a.value, unitOf(field))}`);
  }
  if (a.reading && a.reading.value !== null && a.reading.value !== undefined) {
    parts.push(`${t("now_value")} ${fieldName(a.reading.field)} ${fmtReading(a.reading.value, a.reading.unit, [t("yes"), t("no")])}`);
  }
  return parts.join(" · ");
}

function actions(a, after) {
  if (!a.can_act) { return null; }
  const box = h("div", {class: "actions"});
  const enable = (on) => box.querySelectorAll("button").forEach((b) => { b.disabled = !on; });
  const act = (path, body) => {
    enable(false);
    return api(path, {method: "POST", body: body || {}}).then(after)
      .catch((e) => { box.appendChild(h("p", {class: "error", text: errorText(e)})); enable(true); });
  };
  const on = (p, body) => act(`/api/alerts/${a.id}/${p}`, body);
  if (a.status === "raised") { box.appendChild(h("button", {class: "big primary act-ack", text: t("ack"), onclick: () => on("ack")})); }
  if (a.status === "raised" || a.status === "acknowledged") {
    box.appendChild(h("button", {class: "big act-onsite", text: t("on_site"), onclick: () => on("on-site")}));
  }
  if (["raised", "acknowledged", "on_site"].includes(a.status)) {
    box.appendChild(h("button", {class: "big act-resolve", text: t("resolve"), onclick: () => {
      const note = h("textarea", {class: "note", rows: "3", maxlength: "2000", placeholder: t("note"), "aria-label": t("note")});
      const out = h("select", {class: "outcome"}, ["real_hazard", "false_alarm", "device_fault", "cleared_by_itself"]
        .map((o) => h("option", {value: o, text: t(`o_${o}`)})));
      box.replaceChildren(note, h("label", {}, [`${t("outcome")} `, out]),
        h("button", {class: "big primary act-submit", text: t("submit"), onclick: () => on("resolve", {note: note.value, outcome: out.value})}),
        h("button", {class: "big", text: t("cancel"), onclick: after}));
    }}));
  }
  if (a.status === "resolved") { box.appendChild(h("button", {class: "big act-close", text: t("close"), onclick: () => on("close")})); }
  if (a.hazard === "smoke" && a.severity === "critical" && a.active && a.device_id) {
    box.appendChild(h("button", {class: "big act-hush", text: t("hush"),
      onclick: () => act(`/api/devices/${encodeURIComponent(a.device_id)}/hush`)}));
  }
  return box;
}

function alertCard(a, reload) {
  const reading = readingLine(a);
  return h("article", {class: `alert sev-${a.severity} status-${a.status}`, "data-alert": a.id, "data-status": a.status}, [
    h("a", {href: `#/alert/${a.id}`, class: "alert-head"}, [h("b", {text: hazard(a.hazard)}), " ", badge(`sev-${a.severity}`, t(a.severity)),
      " ", badge("status", t(`st_${a.status}`)), a.assignee && S.me && a.assignee.id === S.me.actor ? badge("mine", t("mine")) : null]),
    reading ? h("div", {class: "reading", text: reading}) : null,
    h("div", {class: "addr", text: (a.facts && a.facts.address) || a.place_id}),
    h("div", {class: "when", text: time(a.raised_at)}), actions(a, reload)]);
}

export function inbox() {
  setNav("inbox");
  const list = h("section", {class: "inbox", id: "inbox"});
  S.view.replaceChildren(list);
  const load = () => api("/api/alerts?open_only=true&mine_first=true&limit=100").then((r) => {
    list.replaceChildren(...(r.items.length ? r.items.map((a) => alertCard(a, load)) : [h("p", {class: "empty", text: t("no_alerts")})]));
  }).catch(fail);
  load();
  // A worker typing a resolve note keeps the form: the list refreshes after the action.
  S.onLive = (what) => { if (what === "alert" && !list.querySelector("textarea.note")) { load(); } };
}

const levelWords = (levels) => (levels || []).map((l) => t(`lv_${l}`)).join("、");

/** A timeline entry as words: "who · what — note"; an escalation from its data (the
    level and who was told), not from the English note the service keeps. */
export function timelineText(e) {
  const who = e.actor === "system" ? t("actor_system") : e.actor;
  if (e.action === "escalated" && e.data && e.data.levels) {
    return `${who} · ${t("escalated")} ${t("esc_level", {level: e.data.level})}: ${t("esc_to")} ${levelWords(e.data.levels)}`;
  }
  return `${who} · ${t(e.action)}${e.note ? ` — ${e.note}` : ""}`;
}

export function timelineItem(e) {
  return h("li", {}, [h("time", {text: time(e.ts)}), ` ${timelineText(e)}`]);
}

function notices(items) {
  if (!items.length) { return [h("p", {class: "empty", text: t("no_notices")})]; }
  return [h("ul", {class: "notices", id: "notices"}, items.map((m) => {
    const channels = m.channels.filter((c) => c !== "-");
    const how = channels.length ? `${channels.join(", ")} · ${t(m.delivered ? "n_ok" : "n_failed")}` : t("no_channel");
    return h("li", {class: `notice ${m.delivered ? "ok" : "not-sent"}`}, [
      h("div", {class: "notice-head"}, [h("b", {text: m.name || t(`lv_${m.role}`) || m.recipient}), ` (${t(`role_${m.role}`)}) · ${time(m.ts)} · ${how}`]),
      h("details", {}, [h("summary", {text: m.title}), h("pre", {class: "message", text: m.body})])]);
  }))];
}

export function alertPage(id) {
  setNav("inbox");
  const load = () => Promise.all([api(`/api/alerts/${id}`), api(`/api/alerts/${id}/messages`).catch(() => ({items: []}))]).then(([a, msgs]) => {
    const hh = a.household, extra = [];
    if (hh && hh.personal_data) {
      if (hh.elderly_alone) { extra.push(h("p", {class: "elderly-note", text: `♥ ${t("elderly_alone")}`})); }
      if (hh.contacts && hh.contacts.length) {
        extra.push(h("h2", {text: t("contacts")}), h("ul", {class: "contacts"}, hh.contacts.map((c) => h("li", {}, [
          h("span", {class: "who", text: c.name + (c.relation ? ` (${c.relation})` : "")}),
          c.phone ? h("a", {href: `tel:${c.phone}`, class: "button call", text: `${t("phone")} ${c.phone}`}) : null]))));
      }
    }
    const resp = a.assignee ? [h("p", {}, [`${t("responsible")}: ${a.assignee.name || a.assignee.id} `,
      a.assignee.phone ? h("a", {href: `tel:${a.assignee.phone}`, class: "button call", text: `${t("phone")} ${a.assignee.phone}`}) : null])] : [];
    const device = a.device_id ? [h("p", {}, [`${t("m_device")}: `, h("a", {href: `#/device/${encodeURIComponent(a.device_id)}`, text: a.device_id})])] : [];
    S.view.replaceChildren(alertCard(a, load), ...resp, ...device, ...extra, h("h2", {text: t("timeline")}),
      h("ol", {class: "timeline"}, a.timeline.map(timelineItem)), h("h2", {text: t("notices")}), ...notices(msgs.items));
  }).catch(fail);
  load();
  S.onLive = (what, data) => {
    if (what === "alert" && String(data.id) === String(id) && !S.view.querySelector("textarea.note")) { load(); }
  };
}
