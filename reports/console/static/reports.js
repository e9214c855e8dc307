// reports.js shows the progress of a report download on the report form of
// privaudit's console (reports/console/progress.go): it gives the download a
// random job id and asks the console every second how many rows are
// rendered so far. Without it the download works the same, without
// progress.
(function () {
  "use strict";
  var form = document.querySelector("form.report");
  var out = document.getElementById("progress");
  var job = document.getElementById("job");
  if (!form || !out || !job || !window.fetch || !window.crypto || !window.crypto.getRandomValues) {
    return;
  }
  var current = "";

  function newID() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function say(text) {
    out.hidden = false;
    out.textContent = text;
  }
  function rows(n) {
    return n.toLocaleString("en") + (n === 1 ? " row" : " rows");
  }
  function poll(id, started, unknown) {
    if (id !== current) {
      return; // a newer download replaced this one
    }
    var again = function (ms, u) { setTimeout(function () { poll(id, started, u); }, ms); };
    fetch("/console/downloads/" + id, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : { state: "unknown", rows: 0 }; })
      .then(function (j) {
        var secs = Math.round((Date.now() - started) / 1000);
        if (j.state === "done") {
          say("Done: " + rows(j.rows) + ". The file is in your browser's downloads.");
        } else if (j.state === "failed") {
          say("The download failed after " + rows(j.rows) + ". Press Download to try again; if it persists, ask an admin to check privaudit's log.");
        } else if (j.state === "running") {
          say("Preparing the file: " + rows(j.rows) + " rendered so far (" + secs + " s). It appears in your downloads once complete.");
          again(1000, 0);
        } else if (unknown < 60) {
          say("Starting the report (" + secs + " s)…");
          again(1000, unknown + 1);
        } else {
          say("The console cannot follow this download's progress; your browser's downloads show the file once it is complete.");
        }
      })
      .catch(function () { again(2000, unknown); });
  }
  form.addEventListener("submit", function () {
    current = newID();
    job.value = current;
    say("Starting the report…");
    var id = current, started = Date.now();
    setTimeout(function () { poll(id, started, 0); }, 500);
  });
})();
