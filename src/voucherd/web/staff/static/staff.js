// The staff screen's small helpers (progressive: every page works without them).
// 1. A form marked "once" is sent once: a second tap while it is on its way does nothing
//    (the server also redeems once per attempt, whatever arrives).
// 2. Scanning: the camera reads a QR code (BarcodeDetector where the browser has it, else the
//    vendored jsQR), puts what it read into the code field and checks it.
"use strict";

document.querySelectorAll("form.once").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach((button) => {
      button.disabled = true;
      button.textContent = "Redeeming…";
    });
  });
});

const confirmation = document.getElementById("confirmation");
if (confirmation) confirmation.focus();

const scan = document.getElementById("scan");
const scanner = document.getElementById("scanner");
const video = document.getElementById("camera");
const status = document.getElementById("scan-status");
const stop = document.getElementById("scan-stop");
const field = document.getElementById("code");
let stream = null;

function stopScanning() {
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  scanner.hidden = true;
  scan.hidden = false;
}

async function makeReader() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (source) => {
          const found = await detector.detect(source);
          return found.length ? found[0].rawValue : null;
        };
      }
    } catch (error) {
      // fall back to jsQR below
    }
  }
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (source) => {
    if (!source.videoWidth || typeof window.jsQR !== "function") return null;
    canvas.width = source.videoWidth;
    canvas.height = source.videoHeight;
    context.drawImage(source, 0, 0);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  };
}

async function startScanning() {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (error) {
    status.textContent = "The camera cannot be used here: type the code instead.";
    scanner.hidden = false;
    return;
  }
  scanner.hidden = false;
  scan.hidden = true;
  video.srcObject = stream;
  await video.play();
  const read = await makeReader();
  const tick = async () => {
    if (!stream) return;
    const text = await read(video).catch(() => null);
    if (text) {
      field.value = text.trim();
      status.textContent = "Read: checking…";
      stopScanning();
      document.getElementById("code-form").submit();
      return;
    }
    window.setTimeout(tick, 150);
  };
  tick();
}

if (scan && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  scan.hidden = false;
  scan.addEventListener("click", startScanning);
  stop.addEventListener("click", stopScanning);
}
