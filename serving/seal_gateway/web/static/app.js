// The seal page: one POST /seal-recognition per file (the gateway's own API, nothing else), the
// options read from the gateway's /openapi.json, and per page an SVG overlay over the page
// picture the server returns. Every URL here is relative, so the page also works when the
// gateway sits behind a proxy under a path prefix.

const API_PATH = "seal-recognition";
const OPENAPI_PATH = "openapi.json";
const SVG_NS = "http://www.w3.org/2000/svg";
// request fields the page sets itself; every other InferRequest field becomes an option control
const PAGE_FIELDS = new Set(["file", "fileType", "visualize", "details", "pdfPages"]);
// the options the page shows first (the ones people tune); the rest go under "More options"
const MAIN_OPTIONS = ["useLayoutDetection", "sealDetThresh", "sealDetBoxThresh", "sealRecScoreThresh"];
const FILE_TYPE_PDF = 0;
const FILE_TYPE_IMAGE = 1;
const BUSY_STATUSES = new Set([429, 503]);
// one colour per seal region (cycled), readable over red stamps and black print
const SEAL_COLOURS = ["#0a84ff", "#12a150", "#d97706", "#9333ea", "#0891b2", "#db2777"];
const ZOOM_STEP = 1.25;

const $ = (id) => document.getElementById(id);

const state = {
  file: null, // the File picked or dropped
  running: false, // a request is being prepared or is in flight
  request: null, // the XMLHttpRequest in flight
  optionControls: [], // [{name, kind, element}]
};

// --- small DOM helpers ------------------------------------------------------------------------

/** An HTML element with attributes (className, dataset keys as data-*, others as attributes). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attributes);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** An SVG element in the SVG namespace. */
function svgEl(tag, attributes = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attributes);
  return node;
}

function setAttributes(node, attributes) {
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "className") node.setAttribute("class", value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

/** "sealDetBoxThresh" -> "Seal det box thresh". */
function humanName(camel) {
  const words = camel.replace(/([A-Z])/g, " $1").trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// --- options from the gateway's OpenAPI document ----------------------------------------------

/** The first non-null schema of a pydantic ``X | None`` field (``anyOf``), or the schema. */
function valueSchema(property) {
  const variants = property.anyOf || [property];
  return variants.find((variant) => variant.type !== "null") || {};
}

/** A control for one request field: a select for booleans and enums, a number box else. */
function optionControl(name, property) {
  const schema = valueSchema(property);
  let kind;
  let input;
  if (schema.type === "boolean") {
    kind = "boolean";
    input = el("select", { name },
      el("option", { value: "", text: "server default" }),
      el("option", { value: "true", text: "on" }),
      el("option", { value: "false", text: "off" }));
  } else if (Array.isArray(schema.enum)) {
    kind = "enum";
    input = el("select", { name }, el("option", { value: "", text: "server default" }),
      ...schema.enum.map((value) => el("option", { value, text: String(value) })));
  } else if (schema.type === "number" || schema.type === "integer") {
    kind = schema.type;
    input = el("input", {
      name, type: "number", step: schema.type === "integer" ? "1" : "any",
      placeholder: "server default", inputmode: "decimal",
    });
  } else {
    return null; // objects and arrays: not offered here (the API takes them)
  }
  input.id = `option-${name}`;
  const label = el("label", { className: "field", for: input.id },
    el("span", { className: "field-name", text: humanName(name) }), input,
    property.description ? el("span", { className: "hint", text: property.description }) : null);
  return { name, kind, input, label };
}

/** Build the option controls from ``InferRequest`` in the gateway's OpenAPI document. */
async function loadOptions() {
  try {
    const response = await fetch(OPENAPI_PATH);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const spec = await response.json();
    const properties = spec.components.schemas.InferRequest.properties;
    const names = Object.keys(properties).filter((name) => !PAGE_FIELDS.has(name));
    const ordered = [...MAIN_OPTIONS.filter((name) => names.includes(name)),
      ...names.filter((name) => !MAIN_OPTIONS.includes(name))];
    for (const name of ordered) {
      const control = optionControl(name, properties[name]);
      if (control === null) continue;
      state.optionControls.push(control);
      $(MAIN_OPTIONS.includes(name) ? "main-options" : "more-options").append(control.label);
    }
  } catch (error) {
    const note = $("options-note");
    note.textContent = `Options unavailable (${error.message}): the server defaults apply.`;
    note.hidden = false;
    $("more-options-box").hidden = true;
  }
}

/** The option fields set in the form, typed as the API wants them (unset ones left out). */
function chosenOptions() {
  const options = {};
  for (const { name, kind, input } of state.optionControls) {
    const text = input.value.trim();
    if (text === "") continue;
    if (kind === "boolean") options[name] = text === "true";
    else if (kind === "number" || kind === "integer") options[name] = Number(text);
    else options[name] = text;
  }
  return options;
}

// --- the file ---------------------------------------------------------------------------------

function isPdf(file) {
  return file.type === "application/pdf" || /\.pdf$/i.test(file.name);
}

function chooseFile(file) {
  if (!file) return;
  state.file = file;
  const chosen = $("chosen");
  chosen.textContent = `${file.name} · ${formatBytes(file.size)}`;
  chosen.hidden = false;
  $("pdf-pages-field").hidden = !isPdf(file);
  $("run").disabled = false;
  run();
}

/** The file's bytes as base64 (without the data: URL prefix). */
function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(new Error(`cannot read ${file.name}: ${reader.error}`));
    reader.readAsDataURL(file);
  });
}

// --- status, progress and errors --------------------------------------------------------------

function showStatus(text, { fraction = null, running = true } = {}) {
  const status = $("status");
  status.hidden = false;
  status.dataset.state = running ? "running" : "done";
  $("status-text").textContent = text;
  const progress = $("progress");
  progress.hidden = !running;
  if (fraction === null) progress.removeAttribute("value");
  else progress.value = fraction;
}

/** Show ``{title, message, detail}`` in the error box (``message``: the gateway's own words). */
function showError({ title, message = "", detail = "" }) {
  const box = $("error");
  box.replaceChildren(el("strong", { className: "error-title", text: title }));
  if (message) box.append(el("div", { className: "error-message", text: message }));
  if (detail) box.append(el("div", { className: "error-detail", text: detail }));
  box.hidden = false;
  $("placeholder").hidden = true;
  $("status").dataset.state = "error";
  $("status").hidden = true;
}

function clearError() {
  $("error").hidden = true;
  $("error").replaceChildren();
}

/** What to tell a person about a failed request: {title, message, detail}. */
function describeFailure(status, body) {
  const message = body && typeof body.errorMsg === "string" ? body.errorMsg : "";
  const detail = `HTTP ${status}${body && body.logId ? ` · logId ${body.logId}` : ""}`;
  if (status === 0) {
    return { title: "Cannot reach the gateway.", message: "Check that it is running, then try again." };
  }
  if (BUSY_STATUSES.has(status)) return { title: "Server busy, try again in a moment.", message, detail };
  if (status === 413) return { title: "The file is too large for this server.", message, detail };
  if (status === 422) return { title: "The gateway refused the file or the options.", message, detail };
  if (status >= 500) return { title: "The server failed on this request.", message, detail };
  return { title: `The gateway answered HTTP ${status}.`, message, detail };
}

// --- the request ------------------------------------------------------------------------------

/** POST ``body`` with upload progress; resolves to {status, body} (body null if not JSON). */
function postJson(body, onUpload) {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    state.request = request;
    request.open("POST", API_PATH);
    request.setRequestHeader("Content-Type", "application/json");
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onUpload(event.loaded / event.total);
    };
    request.upload.onload = () => onUpload(1);
    request.onload = () => {
      let parsed = null;
      try {
        parsed = JSON.parse(request.responseText);
      } catch {
        parsed = null;
      }
      resolve({ status: request.status, body: parsed });
    };
    request.onerror = () => resolve({ status: 0, body: null });
    request.onabort = () => resolve({ status: -1, body: null });
    request.send(body);
  });
}

async function run() {
  const file = state.file;
  if (!file || state.running) return;
  state.running = true;
  clearError();
  clearResults(); // a new file or new options: the old pages would mislead
  $("run").disabled = true;
  $("cancel").hidden = false;
  const started = performance.now();
  let timer = null;
  try {
    if (file.size === 0) {
      showError({ title: "The file is empty.", message: file.name });
      return;
    }
    showStatus(`Reading ${file.name}…`);
    const body = { file: await readBase64(file), fileType: isPdf(file) ? FILE_TYPE_PDF : FILE_TYPE_IMAGE };
    const pages = $("pdf-pages").value.trim();
    if (isPdf(file) && pages) body.pdfPages = pages;
    Object.assign(body, chosenOptions(), { visualize: true, details: true });
    const payload = JSON.stringify(body);
    const onUpload = (fraction) => {
      if (fraction < 1) {
        showStatus(`Uploading ${formatBytes(payload.length)}: ${Math.round(fraction * 100)} %`, { fraction });
        return;
      }
      if (timer !== null) return;
      const tick = () => {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        showStatus(`Recognising ${isPdf(file) ? "the PDF's pages" : "the image"}… ${seconds} s`);
      };
      tick();
      timer = setInterval(tick, 100);
    };
    onUpload(0);
    const { status, body: answer } = await postJson(payload, onUpload);
    clearInterval(timer);
    if (status === -1) {
      showStatus("Cancelled.", { running: false });
      return;
    }
    if (status !== 200 || !answer || !answer.result) {
      showError(describeFailure(status, answer));
      return;
    }
    showStatus("Drawing the results…");
    const seconds = (performance.now() - started) / 1000;
    renderResult(answer, file, seconds);
  } catch (error) {
    showError({ title: "The page failed to send the file.", message: String(error?.message ?? error) });
  } finally {
    clearInterval(timer);
    state.request = null;
    state.running = false;
    // finished requests, counted on <body data-runs> (the browser test waits on it)
    document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
    $("run").disabled = false;
    $("cancel").hidden = true;
  }
}

// --- results ----------------------------------------------------------------------------------

/** Width and height (page pixels) of page ``index`` from PaddleX's ``dataInfo``. */
function pageSize(dataInfo, index) {
  const info = dataInfo.type === "pdf" ? dataInfo.pages[index] : dataInfo;
  return { width: info.width, height: info.height };
}

/** The seal (0-based) of each entry of ``texts``: texts list the seals' kept lines in order. */
function sealOfEachText(pruned) {
  const seals = [];
  (pruned.seal_res_list || []).forEach((seal, sealIndex) => {
    for (let k = 0; k < (seal.rec_texts || []).length; k += 1) seals.push(sealIndex);
  });
  return seals;
}

function clearResults() {
  $("pages").replaceChildren();
  $("summary").hidden = true;
  $("placeholder").hidden = false;
}

function renderResult(answer, file, seconds) {
  const { sealRecResults: pages, dataInfo } = answer.result;
  const container = $("pages");
  container.replaceChildren();
  $("placeholder").hidden = true;
  const stem = file.name.replace(/\.[^.]+$/, "") || "page";
  let textCount = 0;
  pages.forEach((entry, index) => {
    textCount += entry.texts.length;
    container.append(renderPage(entry, index, pageSize(dataInfo, index), stem, dataInfo.type === "pdf"));
  });
  const summary = $("summary");
  const pageWord = pages.length === 1 ? "page" : "pages";
  summary.replaceChildren(
    el("strong", { text: file.name }),
    ` · ${pages.length} ${pageWord} · ${textCount} texts · ${seconds.toFixed(1)} s · `,
    el("span", { className: "log-id", text: `logId ${answer.logId}` }));
  summary.hidden = false;
  showStatus(`Done: ${pages.length} ${pageWord}, ${textCount} texts in ${seconds.toFixed(1)} s.`, { running: false });
  container.querySelectorAll(".page-result").forEach((section) => section.fitZoom());
}

/** One page: the overlay viewer, the table of texts and the download buttons. */
function renderPage(entry, index, size, stem, fromPdf) {
  const section = $("page-template").content.firstElementChild.cloneNode(true);
  const details = entry.details || null;
  const pageNumber = details ? details.pageNumber : index + 1;
  const nameStem = fromPdf ? `${stem}_${pageNumber - 1}` : stem; // PaddleX's <stem>_<page_index>
  section.dataset.page = String(pageNumber);
  section.querySelector(".page-title").textContent = fromPdf ? `Page ${pageNumber}` : "Image";
  const seals = sealOfEachText(entry.prunedResult);
  const sealCount = (entry.prunedResult.seal_res_list || []).length;
  section.querySelector(".page-summary").textContent =
    `${size.width} × ${size.height} px · ${sealCount} seal region${sealCount === 1 ? "" : "s"} · ${entry.texts.length} texts`;

  const image = section.querySelector(".page-image");
  if (entry.inputImage) image.src = `data:image/jpeg;base64,${entry.inputImage}`;
  else image.alt = "no page picture (the server's visualize is off)";
  const svg = section.querySelector(".overlay");
  drawOverlay(svg, entry, size, seals, details);
  fillTable(section.querySelector("tbody"), entry, seals, details);
  section.querySelector(".no-texts").hidden = entry.texts.length > 0;
  linkHover(section);
  addDownloads(section.querySelector(".downloads"), entry, nameStem);
  setUpLayers(section);
  setUpZoom(section, size);
  return section;
}

function drawOverlay(svg, entry, size, seals, details) {
  svg.setAttribute("viewBox", `0 0 ${size.width} ${size.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const unit = Math.max(size.width, size.height) / 100; // label sizes follow the page size
  const layer = (name) => svg.appendChild(svgEl("g", { className: `layer layer-${name}`, "data-layer": name }));

  const layout = layer("layout");
  const layoutBoxes = (entry.prunedResult.layout_det_res || {}).boxes || [];
  for (const box of layoutBoxes) {
    const [x1, y1, x2, y2] = box.coordinate;
    layout.append(svgEl("rect", { className: "layout-box", x: x1, y: y1, width: x2 - x1, height: y2 - y1 }));
    const label = svgEl("text", { className: "layout-label", x: x1 + unit * 0.4, y: y1 + unit * 1.6, "font-size": unit * 1.5 });
    label.textContent = `${box.label} ${box.score.toFixed(2)}`;
    layout.append(label);
  }

  const sealLayer = layer("seals");
  ((details && details.sealBoxes) || []).forEach(([x1, y1, x2, y2], sealIndex) => {
    const colour = SEAL_COLOURS[sealIndex % SEAL_COLOURS.length];
    sealLayer.append(svgEl("rect", {
      className: "seal-box", x: x1, y: y1, width: x2 - x1, height: y2 - y1, stroke: colour,
    }));
    const label = svgEl("text", {
      className: "seal-label", x: x1 + unit * 0.4, y: y2 - unit * 0.6, fill: colour, "font-size": unit * 2.2,
    });
    label.textContent = `seal ${sealIndex + 1}`;
    sealLayer.append(label);
  });

  const lines = layer("lines");
  const numbers = layer("numbers");
  entry.texts.forEach((line, k) => {
    const colour = SEAL_COLOURS[(seals[k] ?? 0) % SEAL_COLOURS.length];
    lines.append(svgEl("polygon", {
      className: "line", "data-line": k, points: line.poly.map(([x, y]) => `${x},${y}`).join(" "),
      stroke: colour, fill: colour,
    }));
    const [x, y] = topmostPoint(line.poly);
    const badge = svgEl("g", { className: "number", "data-line": k, transform: `translate(${x} ${y})` });
    badge.append(svgEl("circle", { r: unit * 1.5, fill: colour }));
    const text = svgEl("text", { "font-size": unit * 1.8, dy: unit * 0.62 });
    text.textContent = String(k + 1);
    badge.append(text);
    numbers.append(badge);
  });
}

/** The polygon's point with the smallest y (where its number badge goes). */
function topmostPoint(poly) {
  return poly.reduce((best, point) => (point[1] < best[1] ? point : best), poly[0]);
}

function fillTable(tbody, entry, seals, details) {
  const images = (details && details.lineImages) || [];
  entry.texts.forEach((line, k) => {
    const picture = images[k]
      ? el("a", { href: `data:image/png;base64,${images[k]}`, download: `line${k + 1}.png`, title: "Download this line image" },
        el("img", { className: "line-image", src: `data:image/png;base64,${images[k]}`, alt: `line ${k + 1} as read` }))
      : el("span", { className: "muted", text: "—" });
    const score = el("td", { className: "score" },
      el("span", { className: "score-bar", style: `--score:${line.score}` }),
      el("span", { className: "score-value", text: line.score.toFixed(3) }));
    tbody.append(el("tr", { "data-line": k },
      el("td", { className: "index", text: String(k + 1) }),
      el("td", { className: "seal", text: String((seals[k] ?? 0) + 1) }),
      el("td", { className: "picture" }, picture),
      el("td", { className: "text", text: line.text, lang: "zh" }),
      score));
  });
}

/** Hovering a row highlights its polygon and the other way round; a click centres it. */
function linkHover(section) {
  const targets = (k) => section.querySelectorAll(`[data-line="${k}"]`);
  const highlight = (k, on) => targets(k).forEach((node) => node.classList.toggle("hl", on));
  section.addEventListener("mouseover", (event) => {
    const node = event.target.closest("[data-line]");
    if (node) highlight(node.dataset.line ?? node.getAttribute("data-line"), true);
  });
  section.addEventListener("mouseout", (event) => {
    const node = event.target.closest("[data-line]");
    if (node) highlight(node.dataset.line ?? node.getAttribute("data-line"), false);
  });
  section.querySelector("tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-line]");
    if (!row || event.target.closest("a")) return;
    const polygon = section.querySelector(`polygon[data-line="${row.dataset.line}"]`);
    if (polygon) centreOn(section, polygon);
  });
}

function centreOn(section, polygon) {
  const viewport = section.querySelector(".viewport");
  const box = polygon.getBoundingClientRect();
  const view = viewport.getBoundingClientRect();
  viewport.scrollBy({
    left: box.left + box.width / 2 - (view.left + view.width / 2),
    top: box.top + box.height / 2 - (view.top + view.height / 2),
    behavior: "smooth",
  });
}

// --- downloads --------------------------------------------------------------------------------

/** The page's result JSON without the pictures (they have their own buttons). */
function resultJson(entry) {
  const { outputImages, inputImage, layoutImage, ocrImage, details, ...rest } = entry;
  if (details) {
    const { lineImages, ...kept } = details;
    rest.details = kept;
  }
  return rest;
}

function downloadButton(label, filename, makeBlob) {
  const button = el("button", { type: "button", className: "download", text: label, title: `Save ${filename}` });
  button.addEventListener("click", () => {
    const url = URL.createObjectURL(makeBlob());
    const link = el("a", { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  return button;
}

function base64Blob(base64, type) {
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return new Blob([bytes], { type });
}

function addDownloads(container, entry, stem) {
  container.append(downloadButton("Result JSON", `${stem}_res.json`,
    () => new Blob([JSON.stringify(resultJson(entry), null, 2)], { type: "application/json" })));
  const pictures = { ...(entry.outputImages || {}) };
  if (entry.inputImage) pictures.page = entry.inputImage;
  for (const [key, base64] of Object.entries(pictures)) {
    container.append(downloadButton(key.replace(/_/g, " "), `${stem}_${key}.jpg`,
      () => base64Blob(base64, "image/jpeg")));
  }
}

// --- layers and zoom --------------------------------------------------------------------------

function setUpLayers(section) {
  for (const box of section.querySelectorAll("input[data-layer]")) {
    const apply = () => section.querySelector(`g[data-layer="${box.dataset.layer}"]`)
      .classList.toggle("off", !box.checked);
    box.addEventListener("change", apply);
    apply();
  }
}

function setUpZoom(section, size) {
  const viewport = section.querySelector(".viewport");
  const canvas = section.querySelector(".canvas");
  const range = section.querySelector(".zoom-range");
  const value = section.querySelector(".zoom-value");
  const min = Number(range.min) / 100;
  const max = Number(range.max) / 100;
  let zoom = 1;
  const setZoom = (next) => {
    zoom = Math.min(max, Math.max(min, next));
    canvas.style.width = `${size.width * zoom}px`;
    canvas.style.height = `${size.height * zoom}px`;
    range.value = String(Math.round(zoom * 100));
    value.textContent = `${Math.round(zoom * 100)} %`;
    section.dataset.zoom = zoom.toFixed(3);
  };
  const fit = () => {
    const width = viewport.clientWidth - 2;
    const height = Math.max(200, viewport.clientHeight - 2);
    setZoom(Math.min(width / size.width, height / size.height));
  };
  section.fitZoom = fit;
  range.addEventListener("input", () => setZoom(Number(range.value) / 100));
  section.querySelector(".zoom").addEventListener("click", (event) => {
    const action = event.target.closest("button")?.dataset.zoom;
    if (action === "in") setZoom(zoom * ZOOM_STEP);
    else if (action === "out") setZoom(zoom / ZOOM_STEP);
    else if (action === "fit") fit();
    else if (action === "actual") setZoom(1);
  });
  viewport.addEventListener("wheel", (event) => {
    if (!event.ctrlKey) return; // plain wheel scrolls; Ctrl + wheel zooms
    event.preventDefault();
    setZoom(event.deltaY < 0 ? zoom * ZOOM_STEP : zoom / ZOOM_STEP);
  }, { passive: false });
  setZoom(1);
}

// --- start ------------------------------------------------------------------------------------

function setUpDrop() {
  const drop = $("drop");
  const input = $("file");
  input.addEventListener("change", () => {
    chooseFile(input.files[0]);
    input.value = ""; // picking the same file again runs it again
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("dragging"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    chooseFile(event.dataTransfer.files[0]);
  });
  // a file dropped beside the zone must not navigate away from the page
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

function start() {
  setUpDrop();
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  $("cancel").addEventListener("click", () => state.request && state.request.abort());
  loadOptions();
}

start();
