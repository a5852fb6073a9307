// The door screen: scan QR codes continuously, admit through the API, keep working offline.
// Camera frames go to the browser's BarcodeDetector where it can read QR codes, else to jsQR
// (installed from npm into static/vendor/). Scanning restarts itself after a bad code, a lost
// camera or a sleeping screen, and never stops silently.
(function () {
  "use strict";
  var root = document.getElementById("door");
  if (!root) { return; }
  var api = root.dataset.api;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var eventKey = "door:" + root.dataset.event;
  var REPEAT_MS = 2500;
  var SYNC_MS = 3000;

  var els = {
    video: document.getElementById("camera"),
    start: document.getElementById("start-camera"),
    cameraStatus: document.getElementById("camera-status"),
    result: document.getElementById("result"),
    resultTitle: document.getElementById("result-title"),
    resultDetail: document.getElementById("result-detail"),
    undo: document.getElementById("undo"),
    next: document.getElementById("next"),
    badge: document.getElementById("network"),
    pending: document.getElementById("pending"),
    admitted: document.getElementById("count-admitted"),
    expected: document.getElementById("count-expected"),
    byType: document.getElementById("count-types"),
    manual: document.getElementById("manual-form"),
    manualCode: document.getElementById("manual-code"),
    search: document.getElementById("search-form"),
    searchQuery: document.getElementById("search-query"),
    searchResults: document.getElementById("search-results"),
  };

  // Device identity and the offline state live in localStorage, per event.
  function load(key, fallback) {
    try { return JSON.parse(localStorage.getItem(eventKey + ":" + key)) || fallback; } catch (e) { return fallback; }
  }
  function save(key, value) { localStorage.setItem(eventKey + ":" + key, JSON.stringify(value)); }
  var device = localStorage.getItem("door:device");
  if (!device) { device = "dev-" + randomId(); localStorage.setItem("door:device", device); }
  var queue = load("queue", []);          // admissions made offline, waiting to sync
  var tickets = load("tickets", {});      // code -> {name, type, ref, status}
  var admittedHere = load("admitted", {}); // code -> {at} admitted by this device
  var lastAdmission = null;
  var online = navigator.onLine;

  function randomId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function normalise(code) { return (code || "").toUpperCase().replace(/[\s-]/g, ""); }

  // Feedback -----------------------------------------------------------------------------
  var audio = null;
  function unlockAudio() {
    try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); audio.resume(); } catch (e) { audio = null; }
  }
  function beep(ok) {
    if (navigator.vibrate) { navigator.vibrate(ok ? 120 : [80, 60, 80, 60, 80]); }
    if (!audio) { return; }
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.frequency.value = ok ? 880 : 220;
    gain.gain.value = 0.2;
    osc.connect(gain); gain.connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + (ok ? 0.15 : 0.45));
  }

  function when(iso) {
    var d = new Date(iso);
    return d.toLocaleTimeString("en-GB", { hour: "numeric", minute: "2-digit", timeZone: "Europe/London" });
  }

  function show(state, title, detail) {
    els.result.className = "door-result door-result--" + state;
    els.result.hidden = false;
    els.resultTitle.textContent = title;
    els.resultDetail.textContent = detail || "";
    els.undo.hidden = state !== "admitted";
    els.result.focus();
    beep(state === "admitted");
  }

  function showOutcome(data, offline) {
    var t = data.ticket || {};
    var who = [t.name, t.type].filter(Boolean).join(" · ");
    if (data.result === "admitted") {
      lastAdmission = { code: data.code, checkin: data.checkin_id || null, offline: offline };
      show("admitted", offline ? "Admitted (offline)" : "Admitted", who);
    } else if (data.result === "already_checked_in") {
      show("already", "Already checked in",
        (who ? who + ". " : "") + "Admitted at " + when(data.checked_in_at) + (data.by ? " by " + data.by : "") + ".");
    } else {
      show("invalid", "Not valid", data.message || "This code is not a ticket for this event.");
    }
  }

  // Admitting ----------------------------------------------------------------------------
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (r.status >= 500) { throw new Error("server " + r.status); }
      return r.json().then(function (data) { data.httpStatus = r.status; return data; });
    });
  }

  function admitOffline(code) {
    var t = tickets[code];
    if (!t || t.status !== "valid") {
      return { result: "invalid", code: code, message: "Not on this event's ticket list." };
    }
    if (admittedHere[code]) {
      return { result: "already_checked_in", code: code, ticket: t, checked_in_at: admittedHere[code].at, by: "this device" };
    }
    if (t.checked_in_at) {
      return { result: "already_checked_in", code: code, ticket: t, checked_in_at: t.checked_in_at, by: t.by };
    }
    var at = new Date().toISOString();
    admittedHere[code] = { at: at };
    queue.push({ code: code, nonce: randomId(), at: at });
    save("queue", queue); save("admitted", admittedHere);
    updateBadge();
    return { result: "admitted", code: code, ticket: t };
  }

  function admit(raw) {
    var code = normalise(raw);
    if (!code) { return; }
    if (!online) { showOutcome(admitOffline(code), true); return; }
    post(api, { code: code, nonce: randomId(), device: device })
      .then(function (data) {
        if (data.result === "admitted") { admittedHere[code] = { at: data.checked_in_at }; save("admitted", admittedHere); }
        showOutcome(data, false);
        refreshCounts();
      })
      .catch(function () { setOnline(false); showOutcome(admitOffline(code), true); });
  }

  els.undo.addEventListener("click", function () {
    if (!lastAdmission) { return; }
    var code = lastAdmission.code;
    if (lastAdmission.offline) {
      queue = queue.filter(function (q) { return q.code !== code; });
      delete admittedHere[code];
      save("queue", queue); save("admitted", admittedHere); updateBadge();
      show("undone", "Admission undone", "");
      lastAdmission = null;
      return;
    }
    post(api + "/undo", { code: code, device: device }).then(function (data) {
      delete admittedHere[code]; save("admitted", admittedHere);
      show("undone", data.ok ? "Admission undone" : "Could not undo", data.message || "");
      lastAdmission = null;
      refreshCounts();
    }).catch(function () { show("invalid", "Could not undo", "No connection. Try again when online."); });
  });

  els.next.addEventListener("click", function () { els.result.hidden = true; lastSeen = ""; });

  els.manual.addEventListener("submit", function (e) {
    e.preventDefault();
    unlockAudio();
    admit(els.manualCode.value);
    els.manualCode.value = "";
  });

  els.search.addEventListener("submit", function (e) {
    e.preventDefault();
    var q = els.searchQuery.value.trim();
    if (!q) { return; }
    fetch(api.replace(/\/checkins$/, "/attendees") + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(renderSearch)
      .catch(function () { renderSearch({ attendees: offlineSearch(q) }); });
  });

  function offlineSearch(q) {
    q = q.toLowerCase();
    return Object.keys(tickets).filter(function (code) {
      var t = tickets[code];
      return (t.name || "").toLowerCase().indexOf(q) >= 0 || (t.ref || "").toLowerCase().indexOf(q) >= 0;
    }).slice(0, 20).map(function (code) { var t = tickets[code]; return { code: code, name: t.name, type: t.type, reference: t.ref, status: t.status, checked_in_at: t.checked_in_at }; });
  }

  function renderSearch(data) {
    els.searchResults.textContent = "";
    var list = data.attendees || [];
    if (!list.length) {
      var p = document.createElement("p"); p.textContent = "No attendees match."; els.searchResults.appendChild(p); return;
    }
    list.forEach(function (a) {
      var li = document.createElement("li");
      li.className = "door-attendee";
      var text = document.createElement("span");
      text.textContent = a.name + " · " + a.type + " · " + a.reference + (a.checked_in_at ? " · in at " + when(a.checked_in_at) : "");
      li.appendChild(text);
      if (a.status === "valid" && !a.checked_in_at) {
        var b = document.createElement("button");
        b.type = "button"; b.className = "button"; b.textContent = "Admit";
        b.setAttribute("aria-label", "Admit " + a.name);
        b.addEventListener("click", function () { unlockAudio(); admit(a.code); });
        li.appendChild(b);
      }
      els.searchResults.appendChild(li);
    });
  }

  // Counts, the ticket list and syncing -------------------------------------------------------
  function setOnline(value) { online = value; updateBadge(); }
  function updateBadge() {
    els.badge.textContent = online ? "Online" : "Offline";
    els.badge.className = "door-badge door-badge--" + (online ? "online" : "offline");
    els.pending.textContent = queue.length ? queue.length + " waiting to sync" : "All synced";
  }
  window.addEventListener("online", function () { setOnline(true); sync(); });
  window.addEventListener("offline", function () { setOnline(false); });

  function refreshCounts() {
    return fetch(api, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        setOnline(true);
        els.admitted.textContent = data.admitted;
        els.expected.textContent = data.expected;
        els.byType.textContent = "";
        (data.by_type || []).forEach(function (t) {
          var li = document.createElement("li");
          li.textContent = t.name + ": " + t.admitted + " of " + t.expected;
          els.byType.appendChild(li);
        });
      })
      .catch(function () { setOnline(false); });
  }

  function loadTickets() {
    return fetch(api.replace(/\/checkins$/, "/tickets"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) { tickets = data.tickets || {}; save("tickets", tickets); })
      .catch(function () {});
  }

  function sync() {
    if (!queue.length || !online) { return Promise.resolve(); }
    var batch = queue.slice();
    return post(api + "/bulk", { device: device, admissions: batch })
      .then(function (data) {
        var done = {};
        (data.results || []).forEach(function (r) { done[r.nonce] = r; });
        queue = queue.filter(function (q) { return !done[q.nonce]; });
        save("queue", queue);
        var doubles = (data.results || []).filter(function (r) { return r.result === "conflict"; });
        if (doubles.length) {
          show("already", "Admitted twice while offline", doubles.length + " ticket(s) were also admitted on another device. Organisers can see them in the report.");
        }
        updateBadge();
      })
      .catch(function () { setOnline(false); });
  }

  setInterval(function () { refreshCounts().then(sync); }, SYNC_MS);
  setInterval(loadTickets, 60000);

  // Camera ---------------------------------------------------------------------------------
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var detector = null;
  var stream = null;
  var lastSeen = "";
  var lastSeenAt = 0;
  var lastFrameAt = 0;
  var scanning = false;

  function cameraStatus(text) { els.cameraStatus.textContent = text; }

  function setupDetector() {
    if (!("BarcodeDetector" in window) || !BarcodeDetector.getSupportedFormats) { return Promise.resolve(); }
    return BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") >= 0) { detector = new BarcodeDetector({ formats: ["qr_code"] }); }
    }).catch(function () {});
  }

  function startCamera() {
    unlockAudio();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraStatus("This browser cannot use the camera here. Type codes or search by name below.");
      return;
    }
    stopCamera();
    cameraStatus("Starting the camera…");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (s) {
        stream = s;
        els.video.srcObject = s;
        s.getVideoTracks().forEach(function (track) {
          track.addEventListener("ended", function () { cameraStatus("The camera stopped. Restarting…"); setTimeout(startCamera, 500); });
        });
        return els.video.play();
      })
      .then(function () { scanning = true; lastFrameAt = Date.now(); cameraStatus("Scanning. Hold a ticket's QR code up to the camera."); els.start.textContent = "Restart camera"; tick(); })
      .catch(function (err) {
        scanning = false;
        var denied = err && err.name === "NotAllowedError";
        cameraStatus(denied
          ? "Camera permission was refused. Allow the camera in the browser settings, then press Restart camera."
          : "The camera could not start (" + (err && err.name || "error") + "). Press Restart camera, or type codes below.");
      });
  }

  function stopCamera() {
    scanning = false;
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
  }

  function found(text) {
    var now = Date.now();
    if (text === lastSeen && now - lastSeenAt < REPEAT_MS) { return; } // the same code, still in view
    lastSeen = text; lastSeenAt = now;
    admit(text);
  }

  function tick() {
    if (!scanning) { return; }
    var v = els.video;
    if (v.readyState >= 2 && v.videoWidth) {
      lastFrameAt = Date.now();
      var w = Math.min(v.videoWidth, 640);
      var h = Math.round(v.videoHeight * (w / v.videoWidth));
      canvas.width = w; canvas.height = h;
      if (detector) {
        detector.detect(v).then(function (codes) { if (codes.length) { found(codes[0].rawValue); } }).catch(function () {});
      } else if (window.jsQR) {
        ctx.drawImage(v, 0, 0, w, h);
        var img = ctx.getImageData(0, 0, w, h);
        var qr = window.jsQR(img.data, w, h, { inversionAttempts: "attemptBoth" });
        if (qr && qr.data) { found(qr.data); }
      }
    }
    setTimeout(function () { requestAnimationFrame(tick); }, 120);
  }

  // A watchdog: frames stopping (screen slept, camera taken away) restarts the camera.
  setInterval(function () {
    if (scanning && Date.now() - lastFrameAt > 5000) { cameraStatus("No picture from the camera. Restarting…"); startCamera(); }
  }, 2000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && stream) { startCamera(); }
  });

  els.start.addEventListener("click", startCamera);
  updateBadge();
  setupDetector().then(function () {
    refreshCounts(); loadTickets(); sync();
    if (root.dataset.autostart === "true") { startCamera(); }
  });
})();
