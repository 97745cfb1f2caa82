// The documents page: upload files to POST /api/documents one after another, delete an upload, and say what happened.
"use strict";
(function () {
  const form = document.getElementById("upload-form");
  const status = document.getElementById("upload-status");
  const deleted = document.getElementById("delete-status");

  async function reply(res) {
    return res.json().catch(function () { return { error: res.statusText }; });
  }

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    const files = Array.from(document.getElementById("file").files);
    if (!files.length) return;
    status.className = "";
    const done = [], failed = [];
    for (const file of files) {  // one at a time: each is indexed before the next is sent
      status.textContent = "Uploading and indexing " + file.name + " (" + (done.length + failed.length + 1) + " of " + files.length + ") …";
      const body = new FormData();
      body.append("file", file);
      const res = await fetch("/api/documents", { method: "POST", body: body });
      const data = await reply(res);
      if (res.ok) done.push(data.doc + " (" + data.chunks + " chunks)");
      else failed.push(file.name + ": " + (data.error || res.statusText));
    }
    status.textContent = (done.length ? "Indexed " + done.join(", ") + ". They can be asked about now. " : "")
      + (failed.length ? "Not added: " + failed.join("; ") : "");
    if (failed.length) status.className = "error";
    else setTimeout(function () { location.reload(); }, 800);
  });

  document.querySelectorAll("button.delete").forEach(function (button) {
    button.addEventListener("click", async function () {
      const doc = button.dataset.doc;
      if (!confirm("Delete " + doc + "? It leaves the collection and the index.")) return;
      button.disabled = true;
      deleted.className = "";
      deleted.textContent = "Deleting " + doc + " …";
      const res = await fetch("/api/documents/" + encodeURIComponent(doc), { method: "DELETE" });
      const data = await reply(res);
      if (res.ok) {
        button.closest("tr").remove();
        deleted.textContent = "Deleted " + doc + ".";
      } else {
        button.disabled = false;
        deleted.className = "error";
        deleted.textContent = "Not deleted: " + (data.error || res.statusText);
      }
    });
  });
})();
