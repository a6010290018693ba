/* GridWatch pages: overview, devices, device, inbox, alert, statistics (hash routes).
   Plain JS, no build step. Every text goes through textContent (no HTML injection);
   live updates come from /api/events (Server-Sent Events). */
(function () {
  "use strict";
  var I = window.GW_I18N, t = I.t, CH = window.GW_CHART;
  var me = null, tz = "Asia/Shanghai", states = {}, onLive = null, es = null;
  var view = document.getElementById("view");

  // -- helpers -------------------------------------------------------------------------------
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) { return; }
      if (k === "text") { el.textContent = v; } else if (k.slice(0, 2) === "on") { el.addEventListener(k.slice(2), v); }
      else { el.setAttribute(k, v === true ? "" : v); }
    });
    (kids || []).forEach(function (c) { if (c !== null && c !== undefined) { el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return el;
  }
  function api(path, opts) {
    opts = opts || {};
    var init = {credentials: "same-origin", method: opts.method || "GET", headers: {}};
    if (opts.body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(opts.body); }
    return fetch(path, init).then(function (r) {
      if (r.status === 401) { location.href = "/login"; throw new Error("login"); }
      return r.json().then(function (b) { if (!r.ok) { var e = new Error((b.error && b.error.message) || r.status); e.status = r.status; throw e; } return b; });
    });
  }
  function qs(o) {
    return Object.keys(o).filter(function (k) { return o[k] !== "" && o[k] !== null && o[k] !== undefined; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(o[k]); }).join("&");
  }
  function fmtTime(ts) {
    if (ts === null || ts === undefined) { return "—"; }
    return new Intl.DateTimeFormat(I.lang() === "zh" ? "zh-CN" : "en-GB", {timeZone: tz, month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false}).format(new Date(ts * 1000));
  }
  function tzOffsetMin(date) { // minutes the site's zone is ahead of UTC at `date`
    var p = {}; new Intl.DateTimeFormat("en-US", {timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit"}).formatToParts(date).forEach(function (x) { p[x.type] = x.value; });
    return (Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute) - Math.floor(date.getTime() / 60000) * 60000) / 60000;
  }
  function dayStart(yyyyMmDd) { // midnight of a date in the site's zone, epoch s
    var utc = Date.parse(yyyyMmDd + "T00:00:00Z");
    return utc / 1000 - tzOffsetMin(new Date(utc)) * 60;
  }
  function siteDate(ts) { return new Date((ts + tzOffsetMin(new Date(ts * 1000)) * 60) * 1000).toISOString().slice(0, 10); }
  function hazard(a) { return t("h_" + a.hazard); }
  function badge(cls, text) { return h("span", {"class": "badge " + cls, text: text}); }
  function fail(e) { if (e.message !== "login") { view.replaceChildren(h("p", {"class": "error", text: t("error") + ": " + e.message})); } }
  function setNav(route) {
    document.querySelectorAll("#nav a").forEach(function (a) { a.classList.toggle("on", a.getAttribute("href") === "#/" + route); });
  }

  // -- live events ---------------------------------------------------------------------------
  function connect() {
    if (es) { es.close(); }
    es = new EventSource("/api/events");
    var dot = document.getElementById("live");
    es.addEventListener("hello", function () { dot.className = "live on"; });
    es.onerror = function () { dot.className = "live off"; };
    es.addEventListener("devices", function (ev) {
      var diff = JSON.parse(ev.data);
      Object.keys(diff).forEach(function (id) { states[id] = diff[id]; });
      paintDevices(diff);
      if (onLive) { onLive("devices", diff); }
    });
    es.addEventListener("alert", function (ev) { if (onLive) { onLive("alert", JSON.parse(ev.data)); } });
    es.addEventListener("reload", function () { route(); });
  }
  function paintDevices(diff) {
    Object.keys(diff).forEach(function (id) {
      document.querySelectorAll('[data-device="' + CSS.escape(id) + '"]').forEach(function (el) {
        el.setAttribute("data-state", diff[id]); el.className = el.className.replace(/\bst-\w+/, "st-" + diff[id]);
      });
    });
    document.querySelectorAll("[data-place]").forEach(paintPlace);
  }
  var RANK = {alarm: 0, fault: 1, offline: 2, ok: 3, unknown: 4};
  function worst(ids) {
    var w = "unknown"; ids.forEach(function (id) { var s = states[id] || "unknown"; if (RANK[s] < RANK[w]) { w = s; } }); return w;
  }
  function paintPlace(el) {
    var ids = (el.getAttribute("data-devices") || "").split(" ").filter(Boolean), s = worst(ids);
    el.setAttribute("data-state", s); el.className = el.className.replace(/\bst-\w+/, "st-" + s);
  }

  // -- overview --------------------------------------------------------------------------------
  function overview() {
    setNav("overview");
    var company = sessionStorage.getItem("gw.company") || "";
    var cards = h("section", {"class": "cards", id: "counts"});
    var sel = h("select", {id: "company", onchange: function () { sessionStorage.setItem("gw.company", sel.value); overview(); }},
      [h("option", {value: "", text: t("all_companies")})].concat(me.property_companies.map(function (pc) {
        return h("option", {value: pc.id, text: pc.name, selected: pc.id === company}); })));
    var tree = h("section", {"class": "tree", id: "tree"});
    view.replaceChildren(h("div", {"class": "toolbar"}, [sel]), cards, tree);
    function loadCounts() {
      return api("/api/overview?" + qs({property_company: company})).then(function (o) {
        var items = [["devices", o.devices, ""], ["online", o.online, "ok"], ["in_alarm", o.in_alarm, "alarm"],
          ["in_fault", o.in_fault, "fault"], ["low_battery", o.low_battery, "fault"]];
        var sev = o.open_alerts_by_severity;
        cards.replaceChildren.apply(cards, items.map(function (x) {
          return h("div", {"class": "card " + x[2], id: "count-" + x[0]}, [h("b", {text: String(x[1])}), h("span", {text: t(x[0])})]);
        }).concat([h("div", {"class": "card wide"}, [h("b", {text: String(o.open_alerts)}), h("span", {text: t("open_alerts")}),
          h("span", {"class": "sev"}, ["critical", "warning", "info"].map(function (k) { return badge("sev-" + k, t(k) + " " + (sev[k] || 0)); }))])]));
      });
    }
    Promise.all([loadCounts(), api("/api/places")]).then(function (r) {
      var p = r[1];
      states = p.states;
      p.compounds.forEach(function (c) {
        var bs = c.buildings.filter(function (b) { return !company || b.property_company === company; });
        if (!bs.length) { return; }
        tree.appendChild(h("h2", {text: c.name}));
        bs.forEach(function (b) {
          var all = b.devices.slice();
          var units = b.units.map(function (u) {
            var hs = u.households.map(function (hh) {
              all = all.concat(hh.devices);
              return h("div", {"class": "hh st-unknown", "data-place": hh.id, "data-devices": hh.devices.join(" "),
                title: hh.id}, [h("span", {"class": "room", text: hh.room}),
                hh.elderly_alone ? h("span", {"class": "elderly", title: t("elderly_alone"), text: "♥"}) : null,
                h("span", {"class": "dots"}, hh.devices.map(devDot))]);
            });
            all = all.concat(u.devices);
            return h("div", {"class": "unit"}, [h("div", {"class": "unit-name st-unknown", "data-place": u.id,
              "data-devices": u.devices.join(" ")}, [u.name, h("span", {"class": "dots"}, u.devices.map(devDot))]), h("div", {"class": "hhs"}, hs)]);
          });
          tree.appendChild(h("div", {"class": "building"}, [h("h3", {"class": "st-unknown", "data-place": b.id,
            "data-devices": all.join(" ")}, [b.name]), h("div", {"class": "units"}, units)]));
        });
      });
      document.querySelectorAll("[data-place]").forEach(paintPlace);
    }).catch(fail);
    var pending = null;
    onLive = function () { if (!pending) { pending = setTimeout(function () { pending = null; loadCounts().catch(fail); }, 300); } };
  }
  function devDot(id) {
    var s = states[id] || "unknown";
    return h("a", {href: "#/device/" + encodeURIComponent(id), "class": "dot st-" + s, "data-device": id, "data-state": s, title: id});
  }

  // -- devices -----------------------------------------------------------------------------------
  function devices(params) {
    setNav("devices");
    var f = {kind: params.kind || "", state: params.state || "", building: params.building || "",
             battery_low: params.battery_low || "", q: params.q || "", offset: +(params.offset || 0), limit: 50};
    function go(ch) { var n = Object.assign({}, f, ch); location.hash = "#/devices?" + qs(n); }
    function select(name, opts) {
      return h("select", {name: name, onchange: function (e) { var ch = {offset: 0}; ch[name] = e.target.value; go(ch); }},
        [h("option", {value: "", text: t(name) + ": " + t("all")})].concat(opts.map(function (o) {
          return h("option", {value: o[0], text: o[1], selected: String(f[name]) === o[0]}); })));
    }
    var search = h("input", {type: "search", placeholder: t("search"), value: f.q,
      onchange: function (e) { go({q: e.target.value, offset: 0}); }});
    var bar = h("div", {"class": "toolbar"}, [
      select("kind", ["gas", "co", "smoke", "heat", "water", "door"].map(function (k) { return [k, t("k_" + k)]; })),
      select("state", ["alarm", "fault", "offline", "ok", "unknown"].map(function (k) { return [k, t("s_" + k)]; })),
      select("battery_low", [["true", t("low_battery")]]), search,
      h("a", {href: "/api/export/devices.csv", "class": "button", text: t("export_devices")})]);
    var body = h("tbody"), pager = h("div", {"class": "pager"});
    view.replaceChildren(bar, h("table", {"class": "list"}, [h("thead", {}, [h("tr", {}, ["id", t("kind"), t("place"),
      t("state"), t("battery"), t("last_seen")].map(function (x) { return h("th", {text: x}); }))]), body]), pager);
    api("/api/devices?" + qs({kind: f.kind, state: f.state, building: f.building, battery_low: f.battery_low, q: f.q,
      limit: f.limit, offset: f.offset})).then(function (r) {
      r.items.forEach(function (d) {
        body.appendChild(h("tr", {}, [h("td", {}, [h("a", {href: "#/device/" + encodeURIComponent(d.id), text: d.id})]),
          h("td", {text: t("k_" + d.kind)}), h("td", {text: d.place.address}),
          h("td", {}, [h("span", {"class": "pill st-" + d.state, "data-device": d.id, "data-state": d.state, text: t("s_" + d.state)})]),
          h("td", {text: d.battery_pct === null || d.battery_pct === undefined ? "—" : d.battery_pct + "%"}),
          h("td", {text: fmtTime(d.last_seen)})]));
      });
      pager.replaceChildren(
        h("button", {disabled: f.offset === 0, onclick: function () { go({offset: Math.max(0, f.offset - f.limit)}); }, text: t("prev")}),
        h("span", {text: " " + (r.total ? f.offset + 1 : 0) + "–" + Math.min(r.total, f.offset + f.limit) + " / " + r.total + " "}),
        h("button", {disabled: f.offset + f.limit >= r.total, onclick: function () { go({offset: f.offset + f.limit}); }, text: t("next")}));
    }).catch(fail);
    onLive = null;
  }

  var MAIN = {gas: ["lel_pct", "co_ppm"], co: ["co_ppm"], smoke: ["smoke", "temp_c"], heat: ["temp_c"],
              water: ["water_leak"], door: ["door_open"]};
  function device(id) {
    setNav("devices");
    Promise.all([api("/api/devices/" + encodeURIComponent(id)), api("/api/devices/" + encodeURIComponent(id) + "/events")]).then(function (r) {
      var d = r[0], ev = r[1];
      var canvas = h("canvas", {"class": "chart"});
      view.replaceChildren(
        h("h1", {}, [t("k_" + d.kind) + " " + d.id + " ", h("span", {"class": "pill st-" + d.state, "data-device": d.id,
          "data-state": d.state, text: t("s_" + d.state)})]),
        h("dl", {"class": "facts"}, [h("dt", {text: t("place")}), h("dd", {text: d.place.address}),
          h("dt", {text: t("responsible")}), h("dd", {text: d.responsible ? d.responsible.name + " " + (d.responsible.phone || "") : "—"}),
          h("dt", {text: t("battery")}), h("dd", {text: d.battery_pct === null || d.battery_pct === undefined ? "—" : d.battery_pct + "%"}),
          h("dt", {text: t("last_seen")}), h("dd", {text: fmtTime(d.last_seen)})]),
        h("h2", {text: t("history")}), canvas, h("h2", {text: t("events")}),
        h("ul", {"class": "events"}, ev.items.map(function (a) {
          return h("li", {}, [h("a", {href: "#/alert/" + a.id, text: fmtTime(a.raised_at) + " " + hazard(a)}), " ",
            badge("sev-" + a.severity, t(a.severity)), " ", badge("status", t("st_" + a.status)),
            h("ol", {"class": "timeline"}, a.timeline.map(timelineItem))]);
        })));
      var fields = (MAIN[d.kind] || []).concat(["battery_pct"]);
      api("/api/devices/" + encodeURIComponent(id) + "/readings?limit=5000").then(function (hist) {
        var colors = ["#c62828", "#1565c0", "#2e7d32"];
        var series = fields.map(function (name, i) {
          return {label: name, color: colors[i % 3], points: hist.items.filter(function (p) { return p[name] !== undefined; })
            .map(function (p) { return [p.ts, +p[name]]; })};
        }).filter(function (s) { return s.points.length; });
        CH.line(canvas, series, fmtTime);
      }).catch(fail);
    }).catch(fail);
    onLive = function (kind, data) { if (kind === "alert" && data.device_id === id) { device(id); } };
  }

  // -- inbox and alert ---------------------------------------------------------------------------
  function actions(a, after) {
    if (!a.can_act) { return null; }
    var box = h("div", {"class": "actions"});
    function act(path, body) {
      box.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      return api("/api/alerts/" + a.id + "/" + path, {method: "POST", body: body || {}}).then(after)
        .catch(function (e) { box.appendChild(h("p", {"class": "error", text: e.message})); box.querySelectorAll("button").forEach(function (b) { b.disabled = false; }); });
    }
    if (a.status === "raised") { box.appendChild(h("button", {"class": "big primary act-ack", text: t("ack"), onclick: function () { act("ack"); }})); }
    if (a.status === "raised" || a.status === "acknowledged") {
      box.appendChild(h("button", {"class": "big act-onsite", text: t("on_site"), onclick: function () { act("on-site"); }}));
    }
    if (["raised", "acknowledged", "on_site"].indexOf(a.status) >= 0) {
      box.appendChild(h("button", {"class": "big act-resolve", text: t("resolve"), onclick: function () {
        var note = h("textarea", {"class": "note", rows: "3", maxlength: "2000", placeholder: t("note")});
        var out = h("select", {"class": "outcome"}, ["real_hazard", "false_alarm", "device_fault", "cleared_by_itself"]
          .map(function (o) { return h("option", {value: o, text: t("o_" + o)}); }));
        box.replaceChildren(note, h("label", {}, [t("outcome") + " ", out]),
          h("button", {"class": "big primary act-submit", text: t("submit"), onclick: function () { act("resolve", {note: note.value, outcome: out.value}); }}),
          h("button", {"class": "big", text: t("cancel"), onclick: after}));
      }}));
    }
    if (a.status === "resolved") { box.appendChild(h("button", {"class": "big act-close", text: t("close"), onclick: function () { act("close"); }})); }
    if (a.hazard === "smoke" && a.severity === "critical" && a.active && a.device_id) {
      box.appendChild(h("button", {"class": "big act-hush", text: t("hush"), onclick: function () {
        box.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        api("/api/devices/" + encodeURIComponent(a.device_id) + "/hush", {method: "POST", body: {}}).then(after)
          .catch(function (e) { box.appendChild(h("p", {"class": "error", text: e.message})); box.querySelectorAll("button").forEach(function (b) { b.disabled = false; }); });
      }}));
    }
    return box;
  }
  function alertCard(a, reload) {
    return h("article", {"class": "alert sev-" + a.severity + " status-" + a.status, "data-alert": a.id, "data-status": a.status}, [
      h("a", {href: "#/alert/" + a.id, "class": "alert-head"}, [h("b", {text: hazard(a)}), " ", badge("sev-" + a.severity, t(a.severity)),
        " ", badge("status", t("st_" + a.status)), a.assignee && me && a.assignee.id === me.actor ? badge("mine", t("mine")) : null]),
      h("div", {"class": "addr", text: (a.data && a.data.address) || a.place_id}),
      h("div", {"class": "when", text: fmtTime(a.raised_at)}), actions(a, reload)]);
  }
  function inbox() {
    setNav("inbox");
    var list = h("section", {"class": "inbox", id: "inbox"});
    view.replaceChildren(list);
    function load() {
      return api("/api/alerts?open_only=true&mine_first=true&limit=100").then(function (r) {
        list.replaceChildren.apply(list, r.items.length ? r.items.map(function (a) { return alertCard(a, load); })
          : [h("p", {"class": "empty", text: t("no_alerts")})]);
      }).catch(fail);
    }
    load();
    // A worker typing a resolve note keeps the form: the list refreshes after the action.
    onLive = function (kind) { if (kind === "alert" && !list.querySelector("textarea.note")) { load(); } };
  }
  function timelineItem(e) {
    var who = e.actor === "system" ? t("actor_system") : e.actor;
    return h("li", {}, [h("time", {text: fmtTime(e.ts)}), " " + who + " · " + t(e.action) + (e.note ? " — " + e.note : "")]);
  }
  function alertPage(id) {
    setNav("inbox");
    function load() {
      api("/api/alerts/" + id).then(function (a) {
        var hh = a.household, extra = [];
        if (hh && hh.personal_data) {
          if (hh.elderly_alone) { extra.push(h("p", {"class": "elderly-note", text: "♥ " + t("elderly_alone")})); }
          if (hh.contacts && hh.contacts.length) {
            extra.push(h("h2", {text: t("contacts")}), h("ul", {"class": "contacts"}, hh.contacts.map(function (c) {
              return h("li", {}, [c.name + (c.relation ? " (" + c.relation + ")" : "") + " ",
                c.phone ? h("a", {href: "tel:" + c.phone, "class": "button", text: t("phone") + " " + c.phone}) : null]);
            })));
          }
        }
        var resp = a.assignee ? [h("p", {}, [t("responsible") + ": " + a.assignee.name + " ",
          a.assignee.phone ? h("a", {href: "tel:" + a.assignee.phone, text: a.assignee.phone}) : null])] : [];
        view.replaceChildren.apply(view, [alertCard(a, load)].concat(resp, extra, [h("h2", {text: t("timeline")}),
          h("ol", {"class": "timeline"}, a.timeline.map(timelineItem))]));
      }).catch(fail);
    }
    load();
    onLive = function (kind, data) {
      if (kind === "alert" && String(data.id) === String(id) && !view.querySelector("textarea.note")) { load(); }
    };
  }

  // -- statistics ----------------------------------------------------------------------------------
  function stats(params) {
    setNav("stats");
    var now = Date.now() / 1000;
    var from = params.from || siteDate(now - 30 * 86400), to = params.to || siteDate(now), by = params.by || "grid";
    var fIn = h("input", {type: "date", value: from}), tIn = h("input", {type: "date", value: to});
    var bySel = h("select", {}, [h("option", {value: "grid", text: t("by_grid"), selected: by === "grid"}),
      h("option", {value: "property_company", text: t("by_company"), selected: by === "property_company"})]);
    var start = dayStart(from), end = dayStart(to) + 86400;
    var charts = h("section", {"class": "charts"}), table = h("table", {"class": "list"});
    view.replaceChildren(h("div", {"class": "toolbar"}, [t("from") + " ", fIn, " " + t("to") + " ", tIn, " ", bySel,
      h("button", {text: t("apply"), onclick: function () { location.hash = "#/stats?" + qs({from: fIn.value, to: tIn.value, by: bySel.value}); }}),
      h("a", {"class": "button", href: "/api/export/alerts.csv?" + qs({start: start, end: end}), text: t("export_alerts")}),
      h("a", {"class": "button", href: "/api/export/devices.csv", text: t("export_devices")})]), charts, table);
    api("/api/stats?" + qs({start: start, end: end, by: by})).then(function (s) {
      var rows = s.groups, defs = [["count", "alerts", 1, "#455a64"], ["ack_median", "ack_median_s", 1 / 60, "#1565c0"],
        ["resolve_median", "resolve_median_s", 1 / 60, "#6a1b9a"], ["in_grid_share", "resolved_in_grid_share", 100, "#2e7d32"],
        ["false_share", "false_alarm_share", 100, "#ef6c00"]];
      defs.forEach(function (d) {
        var c = h("canvas", {"class": "chart bars"});
        charts.appendChild(h("figure", {}, [h("figcaption", {text: t(d[0])}), c]));
        CH.bars(c, rows.map(function (r) { var v = r[d[1]]; return {label: r.name, value: v === null ? null : v * d[2]}; }), d[3]);
      });
      var fmt = function (v, k) { return v === null || v === undefined ? "—" : String(+(v * k).toFixed(1)); };
      table.replaceChildren(h("thead", {}, [h("tr", {}, [t("group")].concat(defs.map(function (d) { return t(d[0]); }))
        .map(function (x) { return h("th", {text: x}); }))]), h("tbody", {}, rows.concat([Object.assign({name: t("total")}, s.total)])
        .map(function (r) { return h("tr", {}, [h("td", {text: r.name})].concat(defs.map(function (d) { return h("td", {text: fmt(r[d[1]], d[2])}); }))); })));
    }).catch(fail);
    onLive = null;
  }

  // -- silences and maintenance windows ---------------------------------------------------------------
  function silences() {
    setNav("silences");
    var list = h("section", {"class": "silences", id: "silences"}), form = h("form", {id: "silence-form", "class": "panel"});
    view.replaceChildren(h("h2", {text: t("nav_silences")}), h("p", {"class": "hint", text: t("silence_hint")}), form, list);
    function load() {
      return api("/api/silences?state=current&limit=200").then(function (r) {
        list.replaceChildren.apply(list, r.items.length ? r.items.map(function (x) {
          var scope = [x.place_id, x.device_ids.join(", "), x.device_kinds.map(function (k) { return t("k_" + k); }).join(", "),
            x.hazards.map(function (k) { return t("h_" + k); }).join(", ")].filter(Boolean).join(" · ");
          return h("article", {"class": "silence", "data-silence": x.id, "data-state": x.state}, [
            h("b", {text: x.reason}), " ", badge("status", t("sil_" + x.state)),
            h("div", {"class": "addr", text: scope}),
            h("div", {"class": "when", text: fmtTime(x.starts_at) + " → " + fmtTime(x.ends_at) + " · " + x.author}),
            me.read_only ? null : h("button", {"class": "big act-lift", text: t("lift"), onclick: function () {
              api("/api/silences/" + x.id, {method: "DELETE"}).then(load).catch(fail);
            }})]);
        }) : [h("p", {"class": "empty", text: t("no_silences")})]);
      }).catch(fail);
    }
    if (!me.read_only) {
      api("/api/places").then(function (p) {
        var opts = [];
        p.compounds.forEach(function (c) {
          c.buildings.forEach(function (b) {
            opts.push([b.id, c.name + " " + b.name]);
            b.units.forEach(function (u) { opts.push([u.id, c.name + " " + b.name + " " + u.name]); });
          });
        });
        var place = h("select", {name: "place_id"}, opts.map(function (o) { return h("option", {value: o[0], text: o[1]}); }));
        var reason = h("input", {name: "reason", required: "required", maxlength: "500", placeholder: t("reason")});
        var kinds = ["gas", "co", "smoke", "heat", "water", "door"].map(function (k) {
          return h("label", {"class": "check"}, [h("input", {type: "checkbox", name: "kind", value: k}), " " + t("k_" + k)]);
        });
        var hours = h("select", {name: "hours"}, [1, 2, 4, 8, 24, 72].map(function (n) { return h("option", {value: String(n), text: n + " " + t("hours")}); }));
        var err = h("p", {"class": "error"});
        form.replaceChildren(h("label", {}, [t("place") + " ", place]), h("label", {}, [t("reason") + " ", reason]),
          h("div", {"class": "kinds"}, kinds), h("label", {}, [t("duration") + " ", hours]),
          h("button", {"class": "big primary", type: "submit", id: "silence-submit", text: t("add_silence")}), err);
        form.onsubmit = function (ev) {
          ev.preventDefault();
          var body = {reason: reason.value, place_id: place.value, duration_s: +hours.value * 3600,
            device_kinds: kinds.map(function (l) { return l.querySelector("input"); }).filter(function (i) { return i.checked; })
              .map(function (i) { return i.value; })};
          api("/api/silences", {method: "POST", body: body}).then(function () { reason.value = ""; err.textContent = ""; load(); })
            .catch(function (e) { err.textContent = e.message; });
        };
      }).catch(fail);
    }
    load();
  }

  // -- users (admins) -----------------------------------------------------------------------------------
  function users() {
    setNav("users");
    if (!me.admin) { view.replaceChildren(h("p", {"class": "error", text: t("not_allowed")})); return; }
    var table = h("tbody"), form = h("form", {id: "user-form", "class": "panel"}), audit = h("ol", {"class": "timeline", id: "audit"});
    var f = {
      login: h("input", {name: "login", required: "required", maxlength: "64", pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]*"}),
      name: h("input", {name: "name", maxlength: "64"}),
      role: h("select", {name: "role"}, ["grid_worker", "property_manager", "maintenance", "leader", "resident", "admin"]
        .map(function (r) { return h("option", {value: r, text: t("role_" + r)}); })),
      worker_id: h("input", {name: "worker_id", maxlength: "64", placeholder: "w-g1"}),
      grids: h("input", {name: "grids", placeholder: "g1, g2"}),
      property_company: h("input", {name: "property_company", maxlength: "64", placeholder: "pc1"}),
      household: h("input", {name: "household", maxlength: "64"}),
      password: h("input", {name: "password", type: "password", minlength: "8", maxlength: "256", autocomplete: "new-password"})
    };
    var err = h("p", {"class": "error"});
    form.replaceChildren.apply(form, Object.keys(f).map(function (k) { return h("label", {}, [t("u_" + k) + " ", f[k]]); })
      .concat([h("button", {"class": "big primary", type: "submit", id: "user-submit", text: t("save_user")}), err]));
    view.replaceChildren(h("h2", {text: t("nav_users")}), h("table", {"class": "list"}, [h("thead", {}, [h("tr", {},
      ["u_login", "u_name", "u_role", "u_worker_id", "u_places", "u_disabled", ""].map(function (k) { return h("th", {text: k ? t(k) : ""}); }))]), table]),
      h("h2", {text: t("save_user")}), form, h("h2", {text: t("audit")}), audit);
    function load() {
      api("/api/users?limit=1000").then(function (r) {
        table.replaceChildren.apply(table, r.items.map(function (u) {
          var places = u.places || {};
          return h("tr", {"data-user": u.login}, [h("td", {text: u.login}), h("td", {text: u.name || ""}), h("td", {text: t("role_" + u.role)}),
            h("td", {text: u.worker_id || ""}), h("td", {text: [(places.grids || []).join(","), places.property_company, places.household].filter(Boolean).join(" ")}),
            h("td", {text: u.disabled ? "✕" : ""}),
            h("td", {}, [h("button", {"class": "link", text: t("edit"), onclick: function () {
              f.login.value = u.login; f.name.value = u.name || ""; f.role.value = u.role; f.worker_id.value = u.worker_id || "";
              f.grids.value = (places.grids || []).join(", "); f.property_company.value = places.property_company || "";
              f.household.value = places.household || ""; f.password.value = ""; f.login.focus();
            }}), " ", u.login === me.login ? null : h("button", {"class": "link danger", text: t("delete"), onclick: function () {
              if (window.confirm(t("delete") + " " + u.login + "?")) { api("/api/users/" + encodeURIComponent(u.login), {method: "DELETE"}).then(load).catch(fail); }
            }})])]);
        }));
      }).catch(fail);
      api("/api/audit?limit=50").then(function (r) {
        audit.replaceChildren.apply(audit, r.items.map(function (e) {
          return h("li", {}, [h("time", {text: fmtTime(e.ts)}), " " + e.actor + " · " + e.action + " · " + e.target]);
        }));
      }).catch(function () { audit.replaceChildren(); });
    }
    form.onsubmit = function (ev) {
      ev.preventDefault();
      var body = {role: f.role.value, places: {grids: f.grids.value.split(",").map(function (x) { return x.trim(); }).filter(Boolean)}};
      if (f.name.value) { body.name = f.name.value; }
      if (f.worker_id.value) { body.worker_id = f.worker_id.value; }
      if (f.property_company.value) { body.places.property_company = f.property_company.value; }
      if (f.household.value) { body.places.household = f.household.value; }
      if (f.password.value) { body.password = f.password.value; }
      api("/api/users/" + encodeURIComponent(f.login.value), {method: "PUT", body: body}).then(function () {
        err.textContent = ""; f.password.value = ""; load();
      }).catch(function (e) { err.textContent = e.message; });
    };
    load();
  }

  // -- routing ----------------------------------------------------------------------------------------
  function route() {
    var hash = location.hash.replace(/^#\/?/, ""), q = hash.split("?"), parts = q[0].split("/"), params = {};
    (q[1] || "").split("&").filter(Boolean).forEach(function (kv) { var p = kv.split("="); params[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || ""); });
    onLive = null;
    view.replaceChildren(h("p", {"class": "loading", text: t("loading")}));
    switch (parts[0]) {
      case "overview": return overview();
      case "devices": return devices(params);
      case "device": return device(decodeURIComponent(parts[1] || ""));
      case "inbox": return inbox();
      case "alert": return alertPage(parts[1]);
      case "stats": return stats(params);
      case "silences": return silences();
      case "users": return users();
      default: location.replace(me.role === "grid_worker" || me.role === "maintenance" ? "#/inbox" : "#/overview");
    }
  }
  document.getElementById("lang").onclick = function () { I.toggle(); I.apply(document); route(); };
  document.getElementById("logout").onclick = function () {
    api("/api/auth/logout", {method: "POST"}).finally(function () { location.href = "/login"; });
  };
  api("/api/auth/me").then(function (m) {
    me = m; tz = m.community.timezone || tz;
    document.getElementById("community").textContent = m.community.name;
    document.getElementById("me").textContent = m.name + (m.read_only ? " (" + t("read_only") + ")" : "");
    document.getElementById("logout").hidden = m.via !== "session";
    document.querySelector('#nav a[href="#/users"]').hidden = !m.admin;
    document.querySelector('#nav a[href="#/silences"]').hidden = !!m.read_only;
    I.apply(document);
    window.addEventListener("hashchange", route);
    connect();
    route();
  }).catch(fail);
})();
