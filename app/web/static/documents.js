// The documents page: upload a file to POST /api/documents and say what happened.
"use strict";
(function () {
  const form = document.getElementById("upload-form");
  const status = document.getElementById("upload-status");
  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    const file = document.getElementById("file").files[0];
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    status.className = "";
    status.textContent = "Uploading and indexing " + file.name + " …";
    const res = await fetch("/api/documents", { method: "POST", body: body });
    const data = await res.json().catch(function () { return { error: res.statusText }; });
    if (res.ok) {
      status.textContent = "Indexed " + data.doc + " (" + data.chunks + " chunks). It can be asked about now.";
      setTimeout(function () { location.reload(); }, 800);
    } else {
      status.className = "error";
      status.textContent = "Not added: " + (data.error || res.statusText);
    }
  });
})();
