// The door screen: scan QR codes continuously, admit through the API, keep working offline.
//
// Camera frames go to the browser's BarcodeDetector where it reads QR codes, otherwise to
// jsQR (static/vendor/). Scanning restarts itself after a bad code, a lost camera, a refused
// permission that is granted again or a sleeping screen, and says so on screen. With no
// camera, or the camera refused, it says so once and leaves typing and search to do the work.
//
// Offline, the device decides from the event's ticket list (GET .../tickets), kept in
// localStorage and keyed by SHA-256 digests of the codes, queues each admission with its
// nonce and syncs the queue when the server answers again (POST .../checkins/bulk).
(function () {
  "use strict";
  var root = document.getElementById("door");
  if (!root) { return; }

  var api = root.dataset.api;                         // /api/events/{slug}/checkins
  var base = api.replace(/\/checkins$/, "");
  var slug = root.dataset.event;
  var tz = root.dataset.tz || "Europe/London";
  var staff = root.dataset.staff || "";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var REPEAT_MS = 2500;      // a code stays ignored until it has been out of view this long
  var POLL_MS = 3000;        // counts, changes and sync
  var LIST_MS = 60000;       // full ticket list refresh
  var TIMEOUT_MS = 4000;     // an admission waits this long before deciding offline
  var RESULT_MS = 30000;     // a result clears itself after this long
  var STALL_MS = 5000;       // no new camera frame for this long restarts the camera

  function $(id) { return document.getElementById(id); }
  var els = {
    video: $("camera"), preview: $("preview"), start: $("start-camera"), switchCam: $("switch-camera"),
    torch: $("torch"), cameraStatus: $("camera-status"),
    result: $("result"), resultTitle: $("result-title"), resultName: $("result-name"),
    resultDetail: $("result-detail"), resultTimer: $("result-timer"), undo: $("undo"), next: $("next"),
    last: $("last"), lastText: $("last-text"), lastUndo: $("last-undo"),
    badge: $("network"), pending: $("pending"),
    admitted: $("count-admitted"), expected: $("count-expected"), waiting: $("count-waiting"), byType: $("count-types"), conflicts: $("conflicts"),
    deviceForm: $("device-form"), deviceName: $("device-name"), deviceError: $("device-error"),
    deviceNamed: $("device-named"), deviceLabel: $("device-label"), deviceRename: $("device-rename"),
    report: $("sync-report"), reportList: $("sync-report-list"),
    manual: $("manual-form"), manualCode: $("manual-code"),
    search: $("search-form"), searchQuery: $("search-query"), searchResults: $("search-results"),
  };

  // Storage: per event, except the device id and the chosen camera ------------------------
  var prefix = "door:" + slug + ":";
  function load(key, fallback) {
    try { var v = JSON.parse(localStorage.getItem(prefix + key)); return v === null ? fallback : v; } catch (e) { return fallback; }
  }
  function save(key, value) {
    try { localStorage.setItem(prefix + key, JSON.stringify(value)); } catch (e) { /* full or blocked: keep going in memory */ }
  }
  function randomId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var device = localStorage.getItem("door:device");
  if (!device) { device = "phone-" + randomId(); try { localStorage.setItem("door:device", device); } catch (e) { /* private mode */ } }
  var deviceName = localStorage.getItem("door:device-name") || "";

  var queue = load("queue", []);        // [{code, nonce, at, key}] admitted offline, not yet synced
  var list = load("list", null);        // {salt, expires_at, tickets: {key: entry}, etag, server_time}
  var local = load("local", {});        // key -> {at} admitted offline here, until the server knows
  var since = load("since", null);      // server_time of the last answer, for ?since=
  if (list && list.expires_at && new Date(list.expires_at) < new Date()) { list = null; save("list", null); }
  var refIndex = {};
  indexList();
  var online = true;
  var signedOut = false;
  var last = null;                      // the last admission on this device, for Undo

  // Codes -----------------------------------------------------------------------------------
  function canonical(text) {
    return (text || "").toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  }
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function listKey(code) {
    if (!list || !window.crypto || !crypto.subtle) { return Promise.resolve(null); }
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(list.salt + code))
      .then(function (d) { return hex(d).slice(0, 32); });
  }
  function indexList() {
    refIndex = {};
    if (!list) { return; }
    Object.keys(list.tickets).forEach(function (key) {
      var ref = canonical(list.tickets[key].ref);
      refIndex[ref] = refIndex[ref] ? "ambiguous" : key;
    });
  }
  function findLocal(code) {           // -> Promise of {key, entry} | {error}
    if (!list) { return Promise.resolve({ error: "no_list" }); }
    if (code.length === 8) {
      var key = refIndex[code];
      if (key === "ambiguous") { return Promise.resolve({ error: "ambiguous" }); }
      return Promise.resolve(key ? { key: key, entry: list.tickets[key] } : { error: "unknown" });
    }
    if (code.length !== 26) { return Promise.resolve({ error: "unknown" }); }
    return listKey(code).then(function (k) {
      if (!k) { return { error: "no_crypto" }; }
      return list.tickets[k] ? { key: k, entry: list.tickets[k] } : { error: "unknown" };
    });
  }

  // Time ------------------------------------------------------------------------------------
  function clock(iso) {
    if (!iso) { return ""; }
    var parts = new Intl.DateTimeFormat("en-GB", { hour: "numeric", minute: "2-digit", hour12: true, timeZone: tz })
      .formatToParts(new Date(iso));
    var h = "", m = "", p = "";
    parts.forEach(function (x) { if (x.type === "hour") { h = x.value; } else if (x.type === "minute") { m = x.value; } else if (x.type === "dayPeriod") { p = x.value.toLowerCase().replace(/\./g, ""); } });
    return h + ":" + m + p;
  }
  function ago(iso) {
    var s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) { return s + " second" + (s === 1 ? "" : "s") + " ago"; }
    var m = Math.round(s / 60);
    if (m < 120) { return m + " minute" + (m === 1 ? "" : "s") + " ago"; }
    return Math.round(m / 60) + " hours ago";
  }

  // Feedback --------------------------------------------------------------------------------
  var audio = null;
  function unlockAudio() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") { audio.resume(); }
    } catch (e) { audio = null; }
  }
  document.addEventListener("pointerdown", unlockAudio);   // phones suspend audio again after sleep
  document.addEventListener("keydown", unlockAudio);
  function tone(freq, start, length) {
    var osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = freq; gain.gain.value = 0.25;
    osc.connect(gain); gain.connect(audio.destination);
    osc.start(audio.currentTime + start); osc.stop(audio.currentTime + start + length);
  }
  function signal(state) {
    var ok = state === "admitted";
    try { if (navigator.vibrate) { navigator.vibrate(ok ? 120 : [90, 60, 90, 60, 90]); } } catch (e) { /* not allowed */ }
    if (!audio || audio.state !== "running") { return; }
    try {
      if (ok) { tone(880, 0, 0.12); tone(1320, 0.13, 0.12); } else if (state === "already") { tone(440, 0, 0.2); tone(440, 0.25, 0.2); } else { tone(220, 0, 0.5); }
    } catch (e) { /* no sound, still a result */ }
  }

  // The result ------------------------------------------------------------------------------
  var resultTimer = null;
  var focusBefore = null;
  function show(state, title, name, detail) {
    if (els.result.hidden) { focusBefore = document.activeElement; }
    els.result.className = "door-result door-result--" + state;
    els.resultTitle.textContent = title;
    els.resultName.textContent = name || "";
    els.resultName.hidden = !name;
    els.resultDetail.textContent = detail || "";
    els.undo.hidden = !(state === "admitted" && last);
    els.result.hidden = false;
    document.body.classList.add("door--result");
    if (cam.stream) { els.preview.srcObject = cam.stream; els.preview.play().catch(function () {}); }
    els.resultTimer.className = "";
    void els.resultTimer.offsetWidth;     // restart the countdown bar
    els.resultTimer.className = "running";
    clearTimeout(resultTimer);
    resultTimer = setTimeout(hideResult, RESULT_MS);
    els.result.focus();
    signal(state);
  }
  function hideResult() {
    clearTimeout(resultTimer);
    els.result.hidden = true;
    document.body.classList.remove("door--result");
    els.preview.srcObject = null;
    if (focusBefore && focusBefore.focus && document.body.contains(focusBefore) && focusBefore !== document.body) { focusBefore.focus(); }
    focusBefore = null;
  }
  function who(t) { return t ? [t.name || "No name", t.type, t.access ? "Access: " + t.access : ""].filter(Boolean).join(" · ") : ""; }
  function deviceWords(id, name) {
    if (!id) { return ""; }
    if (id === device) { return deviceName ? deviceName + " (this phone)" : "this phone"; }
    return name || "another phone";
  }
  function whereFirst(data) {
    var place = data.device ? " on " + deviceWords(data.device, data.device_name) : "";
    if (!data.checked_in_at) { return "Admitted earlier" + (data.by ? " by " + data.by : "") + place + "."; }
    return "First scanned at " + clock(data.checked_in_at) + " (" + ago(data.checked_in_at) + ")" +
      (data.by ? " by " + data.by : "") + place + ".";
  }
  function showOutcome(data, offline) {
    if (data.result === "admitted") {
      last = { code: data.code, checkinId: data.checkin_id || null, nonce: data.nonce || null, offline: offline, name: who(data.ticket) };
      show("admitted", offline ? "Admitted (offline)" : "Admitted", who(data.ticket), data.ticket && data.ticket.reference ? "Ticket " + data.ticket.reference : "");
      els.lastText.textContent = "Last admitted: " + last.name + (offline ? " (offline)" : "");
      els.last.hidden = false;
    } else if (data.result === "already_checked_in") {
      show("already", "Already checked in", who(data.ticket), whereFirst(data));
    } else if (data.result === "cannot_check") {
      show("error", "Cannot check", "", data.message);
    } else {
      show("invalid", "Not valid", who(data.ticket), data.message || "This code is not a ticket for this event.");
    }
  }

  // Talking to the server -------------------------------------------------------------------
  function request(method, url, body, timeout, headers) {
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, timeout) : null;
    var h = { "X-CSRF-Token": csrf, Accept: "application/json" };
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    if (body !== undefined) { h["Content-Type"] = "application/json"; }
    return fetch(url, {
      method: method, credentials: "same-origin", headers: h, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body), signal: ctrl ? ctrl.signal : undefined,
    }).then(function (r) {
      clearTimeout(timer);
      if (r.status === 401 || r.status === 403) { setSignedOut(true); throw new Error("signed out"); }
      if (r.status >= 500) { setOnline(false); throw new Error("server " + r.status); }   // decide from the list meanwhile
      setSignedOut(false);
      setOnline(true);
      return r;
    }, function (err) { clearTimeout(timer); setOnline(false); throw err; });
  }
  function json(r) { return r.json().then(function (d) { d.httpStatus = r.status; return d; }); }

  // Admitting -------------------------------------------------------------------------------
  // decide(): the server's answer, or this phone's from its list when the server is out of
  // reach (with the same nonce, so that if the server did admit it the sync changes nothing).
  function decide(code, nonce) {
    var offline = function () { return decideOffline(code, nonce).then(function (d) { return { data: d, offline: true }; }); };
    if (!online || signedOut) { return offline(); }
    return request("POST", api, { code: code, nonce: nonce, device: device }, TIMEOUT_MS)
      .then(json)
      .then(function (data) {
        if (data.httpStatus !== 200) { return { data: { result: "cannot_check", message: data.message || "The server refused this request." }, offline: false }; }
        data.nonce = nonce;
        rememberAnswer(data);
        return { data: data, offline: false };
      }, offline);
  }
  function admit(raw) {
    var code = canonical(raw);
    if (!code) { return; }
    decide(code, randomId()).then(function (r) {
      showOutcome(r.data, r.offline);
      if (!r.offline) { poll(); }
    });
  }
  // Everyone on one order, one after another, with one result for them all.
  function admitAll(codes, order) {
    var answers = [];
    var chain = Promise.resolve();
    codes.forEach(function (code) {
      chain = chain.then(function () { return decide(canonical(code), randomId()); }).then(function (r) { answers.push(r); });
    });
    chain.then(function () {
      var inNow = answers.filter(function (r) { return r.data.result === "admitted"; });
      var lines = answers.map(function (r) {
        var d = r.data, name = d.ticket ? d.ticket.name || d.ticket.reference : d.code;
        if (d.result === "admitted") { return name + ": admitted" + (r.offline ? " (offline)" : ""); }
        if (d.result === "already_checked_in") { return name + ": already checked in"; }
        return name + ": not valid";
      });
      last = !inNow.length ? null : {
        name: "order " + order,
        group: inNow.map(function (r) { return { code: r.data.code, nonce: r.data.nonce, checkinId: r.data.checkin_id || null, offline: r.offline, name: who(r.data.ticket) }; }),
      };
      els.last.hidden = !last;
      if (last) { els.lastText.textContent = "Last admitted: " + inNow.length + " on order " + order; }
      var all = inNow.length === answers.length;
      show(all ? "admitted" : "already", all ? "Admitted " + inNow.length : "Admitted " + inNow.length + " of " + answers.length,
        "Order " + order, lines.join(". ") + ".");
      poll();
    });
  }

  function rememberAnswer(data) {
    if (!list || !data.code || (data.result !== "admitted" && data.result !== "already_checked_in")) { return; }
    listKey(data.code).then(function (key) {
      if (key && list.tickets[key]) {
        list.tickets[key].checked_in_at = data.checked_in_at;
        list.tickets[key].by = data.by; list.tickets[key].device = data.device; list.tickets[key].device_name = data.device_name;
        save("list", list);
      }
    });
  }

  var NOT_ON_LIST = {
    no_list: "Cannot reach the server, and this phone has no ticket list for this event yet.",
    no_crypto: "Cannot reach the server, and this browser cannot check codes offline.",
    unknown: "Not on this event's ticket list.",
    ambiguous: "More than one ticket starts with this reference. Type the whole code.",
  };
  var OFFLINE_REFUSALS = {
    cancelled: "This ticket was cancelled or refunded.",
    returned: "This ticket was released: its holder gave the seat back."
  };

  function decideOffline(code, nonce) {
    return findLocal(code).then(function (found) {
      if (found.error) {
        var cannot = found.error === "no_list" || found.error === "no_crypto";
        return { result: cannot ? "cannot_check" : "not_valid", code: code, message: NOT_ON_LIST[found.error] };
      }
      var t = found.entry;
      var ticket = { name: t.name, type: t.type, reference: t.ref, access: t.access || "" };
      if (t.status !== "valid") {
        return { result: "not_valid", code: code, ticket: ticket, message: OFFLINE_REFUSALS[t.status] || "This ticket has not been paid for." };
      }
      if (local[found.key]) {
        return { result: "already_checked_in", code: code, ticket: ticket, checked_in_at: local[found.key].at, device: device, by: "" };
      }
      if (t.checked_in_at) {
        return { result: "already_checked_in", code: code, ticket: ticket, checked_in_at: t.checked_in_at, by: t.by, device: t.device, device_name: t.device_name };
      }
      var at = new Date().toISOString();
      local[found.key] = { at: at };
      queue.push({ code: code, nonce: nonce, at: at, key: found.key });
      save("queue", queue); save("local", local);
      updateBadge();
      return { result: "admitted", code: code, nonce: nonce, ticket: ticket };
    });
  }

  // One admission of this phone's, named by its nonce: never another phone's, even after a
  // sync recorded it as the second admission of the ticket. -> Promise of the server's answer.
  function undoOne(done) {
    var queued = queue.filter(function (q) { return q.nonce === done.nonce; })[0];
    if (done.offline && queued) {
      queue = queue.filter(function (q) { return q !== queued; });
      delete local[queued.key];
      save("queue", queue); save("local", local); updateBadge();
      return Promise.resolve({ ok: true, message: "Admission of " + done.name + " undone." });
    }
    var body = done.nonce ? { code: done.code, nonce: done.nonce } : { code: done.code, checkin_id: done.checkinId };
    return request("POST", base + "/checkins/undo", body, 8000)
      .then(json)
      .then(function (data) {
        if (data.ok && !data.still_in) { listKey(done.code).then(function (k) { if (k && list && list.tickets[k]) { list.tickets[k].checked_in_at = null; save("list", list); } }); }
        return data;
      });
  }
  function undo() {
    if (!last) { return; }
    var done = last;
    var items = done.group || [done];
    var answers = [];
    var chain = Promise.resolve();
    items.forEach(function (item) {
      chain = chain.then(function () { return undoOne(item); }).then(function (data) { answers.push(data); });
    });
    chain.then(function () {
      var ok = answers.every(function (a) { return a.ok; });
      poll();
      if (items.length === 1) {
        finishUndo(answers[0].ok, answers[0].message || "", answers[0].duplicate ? "Second admission withdrawn" : "");
      } else {
        finishUndo(ok, answers.map(function (a) { return a.message; }).join(". ") + ".", ok ? "Admissions undone" : "");
      }
    }).catch(function () { show("error", "Could not undo", done.name, "No connection. Try Undo again when the badge says Online."); });
  }
  function finishUndo(ok, message, title) {
    if (ok) { last = null; els.last.hidden = true; }
    show("undone", title || (ok ? "Admission undone" : "Could not undo"), "", message);
  }
  els.undo.addEventListener("click", undo);
  els.lastUndo.addEventListener("click", undo);
  els.next.addEventListener("click", hideResult);
  els.result.addEventListener("keydown", function (e) { if (e.key === "Escape") { hideResult(); } });

  els.manual.addEventListener("submit", function (e) {
    e.preventDefault();
    var code = els.manualCode.value;
    if (!canonical(code)) { els.manualCode.focus(); return; }
    els.manualCode.value = "";
    admit(code);
  });

  // Search ----------------------------------------------------------------------------------
  els.search.addEventListener("submit", function (e) {
    e.preventDefault();
    var q = els.searchQuery.value.trim();
    if (q.length < 2) { renderSearch([], q); return; }
    request("GET", base + "/attendees?q=" + encodeURIComponent(q), undefined, TIMEOUT_MS)
      .then(json)
      .then(function (data) { renderSearch(data.attendees || [], q); })
      .catch(function () { renderSearch(searchLocal(q), q); });
  });
  function searchLocal(q) {
    if (!list) { return []; }
    var lower = q.toLowerCase(), ref = canonical(q);
    var keys = Object.keys(list.tickets);
    var orders = {};
    keys.filter(function (key) {
      var t = list.tickets[key];
      return (t.name || "").toLowerCase().indexOf(lower) >= 0 ||
        (ref.length >= 4 && canonical(t.ref).indexOf(ref) === 0) || canonical(t.order) === ref;
    }).slice(0, 20).forEach(function (key) { orders[list.tickets[key].order] = true; });
    return keys.filter(function (key) { return orders[list.tickets[key].order]; }).slice(0, 40).map(function (key) {
      var t = list.tickets[key];
      var at = local[key] ? local[key].at : t.checked_in_at;
      return { code: t.ref, name: t.name, type: t.type, reference: t.ref, order_reference: t.order, status: t.status, checked_in_at: at, by: t.by, access: t.access || "" };
    });
  }
  function renderSearch(found, q) {
    els.searchResults.textContent = "";
    if (!found.length) {
      var p = document.createElement("p");
      p.textContent = q.length < 2 ? "Type at least 2 letters." : "No one matches “" + q + "”.";
      els.searchResults.appendChild(p);
      return;
    }
    // One group per order, in the order the results came, with Admit all for a party.
    var orders = [], byOrder = {};
    found.forEach(function (a) {
      var ref = a.order_reference || a.reference;
      if (!byOrder[ref]) { byOrder[ref] = []; orders.push(ref); }
      byOrder[ref].push(a);
    });
    var outer = document.createElement("ul");
    outer.className = "door-attendees";
    orders.forEach(function (ref) {
      var group = document.createElement("li");
      group.className = "door-order";
      var ul = document.createElement("ul");
      ul.className = "door-attendees";
      var open = byOrder[ref].filter(function (a) { return a.status === "valid" && !a.checked_in_at; });
      byOrder[ref].forEach(function (a) { ul.appendChild(attendeeItem(a)); });
      group.appendChild(ul);
      if (open.length > 1) {
        var all = document.createElement("button");
        all.type = "button"; all.className = "button door-order__all";
        all.textContent = "Admit all on this order (" + open.length + ")";
        all.setAttribute("aria-label", "Admit all " + open.length + " on order " + ref);
        all.addEventListener("click", function () {
          all.disabled = true;
          Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) { b.disabled = true; });
          admitAll(open.map(function (a) { return a.code; }), ref);
        });
        group.appendChild(all);
      }
      outer.appendChild(group);
    });
    els.searchResults.appendChild(outer);
  }
  var STATUS_WORDS = { cancelled: "Cancelled or refunded", released: "Not paid", held: "Not paid", returned: "Released by its holder" };
  function attendeeItem(a) {
    var li = document.createElement("li");
    li.className = "door-attendee" + (a.status !== "valid" ? " door-attendee--invalid" : "");
    var text = document.createElement("span");
    text.className = "door-attendee__text";
    var strong = document.createElement("strong");
    strong.textContent = a.name || "No name";
    text.appendChild(strong);
    text.appendChild(document.createTextNode(" · " + a.type + " · "));
    var ref = document.createElement("span");
    ref.className = "nowrap";                       // a reference never breaks mid-code
    ref.textContent = a.reference;
    text.appendChild(ref);
    text.appendChild(document.createElement("br"));
    if (a.access) {
      var access = document.createElement("strong");
      access.textContent = "Access: ";
      text.appendChild(access);
      text.appendChild(document.createTextNode(a.access));
      text.appendChild(document.createElement("br"));
    }
    if (a.status !== "valid") {
      var tag = document.createElement("span");
      tag.className = "door-tag door-tag--invalid";
      tag.textContent = "Not valid";
      text.appendChild(tag);
      text.appendChild(document.createTextNode(" " + (STATUS_WORDS[a.status] || a.status)));
    } else {
      text.appendChild(document.createTextNode(a.checked_in_at ? "In at " + clock(a.checked_in_at) + (a.by ? " (" + a.by + ")" : "") : "Not in yet"));
    }
    li.appendChild(text);
    if (a.status === "valid" && !a.checked_in_at) {
      var b = document.createElement("button");
      b.type = "button"; b.className = "button"; b.textContent = "Admit";
      b.setAttribute("aria-label", "Admit " + (a.name || a.reference));
      b.addEventListener("click", function () { admit(a.code); b.disabled = true; });
      li.appendChild(b);
    }
    return li;
  }

  // This phone's name ----------------------------------------------------------------------
  function showDevice() {
    els.deviceForm.hidden = !!deviceName;
    els.deviceNamed.hidden = !deviceName;
    els.deviceLabel.textContent = deviceName;
  }
  function sendName() {
    if (!deviceName || !localStorage.getItem("door:device-name-unsent")) { return; }
    request("POST", base + "/device", { device: device, name: deviceName }, TIMEOUT_MS)
      .then(json)
      .then(function (data) { if (data.httpStatus === 200) { localStorage.removeItem("door:device-name-unsent"); } })
      .catch(function () { /* sent when the server answers again */ });
  }
  els.deviceForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var name = els.deviceName.value.replace(/\s+/g, " ").trim();
    els.deviceError.hidden = true;
    if (!name || name.length > 60) {
      els.deviceError.textContent = name ? "Name must be 60 characters or fewer" : "Enter a name for this phone, like Main door phone";
      els.deviceError.hidden = false;
      els.deviceName.focus();
      return;
    }
    deviceName = name;
    try { localStorage.setItem("door:device-name", name); localStorage.setItem("door:device-name-unsent", "1"); } catch (err) { /* private mode */ }
    showDevice();
    sendName();
    els.deviceRename.focus();
  });
  els.deviceRename.addEventListener("click", function () {
    els.deviceForm.hidden = false;
    els.deviceNamed.hidden = true;
    els.deviceName.value = deviceName;
    els.deviceName.focus();
  });

  // Network state, counts, the ticket list and syncing -------------------------------------
  function setOnline(value) { if (online !== value) { online = value; updateBadge(); if (value) { sync(); sendName(); } } }
  function setSignedOut(value) { if (signedOut !== value) { signedOut = value; updateBadge(); } }
  var lastCounts = null;
  function updateBadge() {
    renderCount();
    els.badge.textContent = signedOut ? "Signed out" : online ? "Online" : "Offline";
    els.badge.className = "door-badge door-badge--" + (signedOut || !online ? "offline" : "online");
    els.pending.textContent = queue.length ? queue.length + " waiting to sync" : "All synced";
    if (signedOut && !$("sign-in-again")) {
      var a = document.createElement("a");
      a.id = "sign-in-again"; a.href = root.dataset.signIn; a.textContent = "Sign in again";
      els.pending.parentNode.appendChild(a);
    } else if (!signedOut && $("sign-in-again")) {
      $("sign-in-again").remove();
    }
  }
  window.addEventListener("online", poll);
  window.addEventListener("offline", function () { setOnline(false); });

  // The count includes this phone's admissions waiting to sync, and says so.
  function renderCount() {
    if (!lastCounts) { return; }
    els.admitted.textContent = lastCounts.admitted + queue.length;
    els.waiting.textContent = queue.length ? " (" + queue.length + " waiting to sync)" : "";
  }
  function renderCounts(data) {
    lastCounts = { admitted: data.admitted };
    renderCount();
    els.expected.textContent = data.expected;
    els.byType.textContent = "";
    (data.by_type || []).forEach(function (t) {
      var li = document.createElement("li");
      li.textContent = t.name + ": " + t.admitted + " of " + t.expected;
      els.byType.appendChild(li);
    });
    els.conflicts.hidden = !data.conflicts;
    els.conflicts.textContent = data.conflicts + " ticket" + (data.conflicts === 1 ? "" : "s") + " admitted twice while offline";
  }

  var polling = false;
  function poll() {
    if (polling) { return Promise.resolve(); }
    polling = true;
    var url = api + (since && list ? "?since=" + encodeURIComponent(since) : "");
    return request("GET", url, undefined, TIMEOUT_MS)
      .then(json)
      .then(function (data) {
        if (data.httpStatus !== 200) { since = null; return; }
        renderCounts(data);
        if (data.changes && list) {
          var overtaken = [];
          Object.keys(data.changes).forEach(function (key) {
            var before = list.tickets[key], after = data.changes[key];
            // This phone's synced admission, now another phone's earlier scan: admitted twice.
            if (before && before.device === device && before.checked_in_at && after.checked_in_at && after.device && after.device !== device) {
              overtaken.push({ entry: after, mine: before.checked_in_at });
            }
            list.tickets[key] = data.changes[key];
            if (data.changes[key].checked_in_at && local[key] && !queued(key)) { delete local[key]; }
          });
          indexList(); save("list", list); save("local", local);
          if (overtaken.length) {
            report(overtaken.map(function (o) {
              return { name: (o.entry.name || "No name") + " (" + o.entry.ref + ")", twice: true,
                first: { device: o.entry.device, name: o.entry.device_name, at: o.entry.checked_in_at }, second: { device: device, at: o.mine } };
            }));
          }
        }
        since = data.server_time; save("since", since);
        return sync();
      })
      .catch(function () { /* the badge says offline */ })
      .then(function () { polling = false; });
  }
  function queued(key) { return queue.some(function (q) { return q.key === key; }); }

  function loadList() {
    return request("GET", base + "/tickets", undefined, 20000, list && list.etag ? { "If-None-Match": list.etag } : {})
      .then(function (r) {
        if (r.status === 304) { return; }
        var etag = r.headers.get("ETag");
        return r.json().then(function (data) {
          list = { salt: data.salt, expires_at: data.expires_at, tickets: data.tickets, etag: etag };
          since = data.server_time;
          indexList(); save("list", list); save("since", since);
        });
      })
      .catch(function () { /* keep the copy we have */ });
  }

  var syncing = false;
  function sync() {
    if (syncing || !queue.length || !online || signedOut) { return Promise.resolve(); }
    syncing = true;
    var batch = queue.slice(0, 200);
    var admissions = batch.map(function (q) { return { code: q.code, nonce: q.nonce, at: q.at }; });
    return request("POST", base + "/checkins/bulk", { device: device, admissions: admissions }, 20000)
      .then(json)
      .then(function (data) {
        if (data.httpStatus !== 200) { return; }
        var byNonce = {};
        (data.results || []).forEach(function (r) { byNonce[r.nonce] = r; });
        var problems = [];
        batch.forEach(function (q) {
          var r = byNonce[q.nonce];
          if (!r) { return; }
          var entry = list && list.tickets[q.key];
          var name = entry ? (entry.name || "No name") + " (" + entry.ref + ")" : q.code;
          if (r.result === "admitted" && entry) { entry.checked_in_at = q.at; entry.by = staff; entry.device = device; entry.device_name = deviceName; }
          if (r.result === "admitted" && lastCounts) { lastCounts.admitted += 1; }   // until the next poll says so
          if (r.result === "conflict") {
            problems.push({ name: name, twice: true, first: { device: r.first && r.first.device, name: r.first && r.first.device_name, at: r.first && r.first.at }, second: { device: device, at: q.at } });
          } else if (r.result === "admitted" && r.later) {
            problems.push({ name: name, twice: true, first: { device: device, at: q.at }, second: { device: r.later.device, name: r.later.device_name, at: r.later.at } });
          } else if (r.result !== "admitted") {
            problems.push({ name: name, twice: false, at: q.at, message: r.message || r.reason });
          }
          delete local[q.key];
        });
        queue = queue.filter(function (q) { return !byNonce[q.nonce]; });
        save("queue", queue); save("local", local); if (list) { save("list", list); }
        updateBadge();
        if (problems.length) { report(problems); }
        setTimeout(poll, 0);
      })
      .catch(function () { /* stays queued */ })
      .then(function () { syncing = false; if (queue.length && online) { setTimeout(sync, 500); } });
  }
  // "Admitted twice while offline: on Main door phone at 8:23pm and on this phone at 8:23pm"
  function twiceWords(p) {
    return "Admitted twice while offline: on " + deviceWords(p.first.device, p.first.name) + " at " + clock(p.first.at) +
      " and on " + deviceWords(p.second.device, p.second.name) + " at " + clock(p.second.at) + ". The first scan counts.";
  }
  function report(problems) {
    els.report.hidden = false;
    problems.forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.name + ": " + (p.twice ? twiceWords(p) : "admitted offline at " + clock(p.at) + ", but not valid: " + p.message + ".");
      els.reportList.appendChild(li);
    });
    var twice = problems.some(function (p) { return p.twice; });
    var n = problems.length;
    show(twice ? "already" : "invalid", twice ? "Admitted twice while offline" : "Offline admission not valid", "",
      n + (n === 1 ? " admission" : " admissions") + " from the offline queue " + (n === 1 ? "needs" : "need") + " a look: see Found when syncing.");
  }

  // Camera ----------------------------------------------------------------------------------
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var detector = null;
  var cam = { failures: 0, blocked: false, wanted: false, stream: null, gen: 0, starting: false, startedAt: 0, running: false, lastTime: -1, lastProgress: 0, denied: false, failedAt: 0, torch: false };
  var seen = {};                         // code -> when it was last in view

  function status(text) { if (els.cameraStatus.textContent !== text) { els.cameraStatus.textContent = text; } }

  function setupDetector() {
    if (!("BarcodeDetector" in window) || !window.BarcodeDetector.getSupportedFormats) { return Promise.resolve(); }
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") >= 0) { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); }
    }).catch(function () { detector = null; });
  }

  function stopTracks() {
    cam.running = false;
    if (cam.stream) { cam.stream.getTracks().forEach(function (t) { t.stop(); }); cam.stream = null; }
  }

  function constraints() {
    var chosen = localStorage.getItem("door:camera-device");
    if (chosen) { return { audio: false, video: { deviceId: { exact: chosen } } }; }
    return { audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } } };
  }

  function startCamera() {
    cam.wanted = true;
    try { localStorage.setItem("door:camera", "on"); } catch (e) { /* private mode */ }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      giveUp("This browser cannot use a camera on this page. Type the code or search by name above.");
      return;
    }
    stopTracks();
    var gen = ++cam.gen;
    cam.starting = true;
    cam.startedAt = Date.now();
    status("Starting the camera…");
    navigator.mediaDevices.getUserMedia(constraints())
      .catch(function (err) {
        if (localStorage.getItem("door:camera-device") && err && (err.name === "OverconstrainedError" || err.name === "NotFoundError")) {
          localStorage.removeItem("door:camera-device");   // the remembered camera has gone
          return navigator.mediaDevices.getUserMedia(constraints());
        }
        throw err;
      })
      .then(function (stream) {
        if (gen !== cam.gen) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
        cam.stream = stream;
        cam.denied = false; cam.failures = 0;
        els.video.srcObject = stream;
        stream.getVideoTracks().forEach(function (track) {
          track.addEventListener("ended", function () {
            if (gen === cam.gen) { cam.running = false; status("The camera stopped. Restarting…"); }
          });
        });
        return els.video.play().then(function () {
          if (gen !== cam.gen) { return; }
          cam.starting = false; cam.running = true; cam.lastProgress = Date.now(); cam.lastTime = -1;
          status("Scanning. Hold a ticket's QR code up to the camera.");
          els.start.textContent = "Restart camera";
          setupTorch(stream); setupSwitch();
          scanLoop(gen);
        });
      })
      .catch(function (err) {
        if (gen !== cam.gen) { return; }
        cam.starting = false; cam.running = false; cam.failedAt = Date.now();
        var name = (err && err.name) || "";
        cam.denied = name === "NotAllowedError" || name === "SecurityError";
        cam.failures += 1;
        // No camera, or it is refused: say so once and leave typing and search to do the work.
        // Anything else may pass (another app holding the camera): a few tries, then the same.
        if (cam.denied) {
          giveUp("The camera is blocked for this site. Type the code or search by name above. To scan, allow the camera in the browser's settings, then press Try the camera again.");
        } else if (name === "NotFoundError" || name === "OverconstrainedError" || cam.failures >= 3) {
          giveUp(name === "NotFoundError" || name === "OverconstrainedError"
            ? "This phone has no camera the page can use. Type the code or search by name above."
            : "The camera would not start. Type the code or search by name above, or press Try the camera again.");
        } else {
          status("The camera could not start. Trying again… You can type the code above meanwhile.");
        }
      });
  }
  function giveUp(text) {
    cam.wanted = false; cam.starting = false; cam.running = false; cam.blocked = true;
    stopTracks();
    try { localStorage.setItem("door:camera", "off"); } catch (e) { /* private mode */ }
    els.start.textContent = "Try the camera again";
    status(text);
  }

  function scanLoop(gen) {
    if (gen !== cam.gen || !cam.running) { return; }
    var next = function () { if (gen === cam.gen && cam.running) { setTimeout(function () { scanLoop(gen); }, 120); } };
    var work;
    try { work = scanFrame(); } catch (e) { work = null; }
    Promise.resolve(work).catch(function () {}).then(next);
  }

  function scanFrame() {
    var v = els.video;
    if (v.readyState < 2 || !v.videoWidth) { return null; }
    if (v.currentTime !== cam.lastTime) { cam.lastTime = v.currentTime; cam.lastProgress = Date.now(); }
    var w = Math.min(v.videoWidth, 640);
    var h = Math.round(v.videoHeight * (w / v.videoWidth));
    if (canvas.width !== w) { canvas.width = w; }
    if (canvas.height !== h) { canvas.height = h; }
    ctx.drawImage(v, 0, 0, w, h);
    if (detector) {
      return detector.detect(canvas).then(function (codes) { if (codes.length) { found(codes[0].rawValue); } });
    }
    if (window.jsQR) {
      var img = ctx.getImageData(0, 0, w, h);
      var qr = window.jsQR(img.data, w, h, { inversionAttempts: "attemptBoth" });
      if (qr && qr.data) { found(qr.data); }
    }
    return null;
  }

  function found(text) {
    var code = canonical(text);
    var now = Date.now();
    var lastSeen = seen[code] || 0;
    seen[code] = now;
    if (now - lastSeen < REPEAT_MS) { return; }   // still in view since it was read
    admit(text);
  }

  function setupTorch(stream) {
    var track = stream.getVideoTracks()[0];
    var caps = track && track.getCapabilities ? track.getCapabilities() : {};
    els.torch.hidden = !caps.torch;
    cam.torch = false;
    els.torch.setAttribute("aria-pressed", "false");
  }
  els.torch.addEventListener("click", function () {
    var track = cam.stream && cam.stream.getVideoTracks()[0];
    if (!track) { return; }
    var on = !cam.torch;
    track.applyConstraints({ advanced: [{ torch: on }] }).then(function () {
      cam.torch = on; els.torch.setAttribute("aria-pressed", on ? "true" : "false");
    }).catch(function () { els.torch.hidden = true; });
  });

  function cameras() {
    if (!navigator.mediaDevices.enumerateDevices) { return Promise.resolve([]); }
    return navigator.mediaDevices.enumerateDevices().then(function (all) {
      return all.filter(function (d) { return d.kind === "videoinput"; });
    }).catch(function () { return []; });
  }
  function setupSwitch() { cameras().then(function (list) { els.switchCam.hidden = list.length < 2; }); }
  els.switchCam.addEventListener("click", function () {
    var current = cam.stream && cam.stream.getVideoTracks()[0] && cam.stream.getVideoTracks()[0].getSettings().deviceId;
    cameras().then(function (list) {
      if (list.length < 2) { return; }
      var i = list.findIndex(function (d) { return d.deviceId === current; });
      localStorage.setItem("door:camera-device", list[(i + 1) % list.length].deviceId);   // remembered next time
      startCamera();
    });
  });

  // The watchdog: whatever stopped the camera, start it again while staff want it.
  setInterval(function () {
    if (!cam.wanted || document.visibilityState !== "visible") { return; }
    var now = Date.now();
    if (cam.starting) {
      if (now - cam.startedAt > 10000) { status("The camera is not answering. Restarting…"); startCamera(); }
      return;
    }
    if (!cam.running) {
      if (now - cam.failedAt > (cam.denied ? 10000 : 3000)) { startCamera(); }
      return;
    }
    if (now - cam.lastProgress > STALL_MS) { status("No picture from the camera. Restarting…"); startCamera(); }
  }, 2000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && cam.wanted) { startCamera(); poll(); }
  });
  if (navigator.permissions && navigator.permissions.query) {
    navigator.permissions.query({ name: "camera" }).then(function (p) {
      p.addEventListener("change", function () { if (p.state === "granted" && (cam.wanted || cam.blocked)) { startCamera(); } });
    }).catch(function () { /* not supported here */ });
  }

  els.start.addEventListener("click", function () { unlockAudio(); cam.failures = 0; cam.blocked = false; startCamera(); });

  // Start -----------------------------------------------------------------------------------
  showDevice();
  sendName();
  updateBadge();
  setInterval(poll, POLL_MS);
  setInterval(loadList, LIST_MS);
  loadList().then(poll);
  setupDetector().then(function () {
    if (root.dataset.autostart === "true" || localStorage.getItem("door:camera") === "on") { startCamera(); }
  });
})();
