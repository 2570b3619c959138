// The preview canvas: the image (EXIF orientation applied by the browser's
// decoder, matching the server's coordinates) with each recognised line's box.

const MAX_CANVAS_SIDE = 2400; // keep huge photos from allocating giant canvases

export function confidenceLevel(conf) {
  if (conf == null) return "mid";
  if (conf >= 0.85) return "high";
  if (conf >= 0.6) return "mid";
  return "low";
}

const COLOURS = {
  high: { stroke: "#0f9d74", fill: "rgba(15, 157, 116, 0.10)", strong: "rgba(15, 157, 116, 0.26)" },
  mid: { stroke: "#d18a00", fill: "rgba(209, 138, 0, 0.10)", strong: "rgba(209, 138, 0, 0.26)" },
  low: { stroke: "#d6334c", fill: "rgba(214, 51, 76, 0.10)", strong: "rgba(214, 51, 76, 0.26)" },
};
const SELECTED = { stroke: "#3b5bfd", fill: "rgba(59, 91, 253, 0.22)" };

/**
 * Decode an image file for preview. Resolves to an ImageBitmap/HTMLImageElement
 * with naturalWidth/Height-like `width`/`height`, or null when the browser
 * cannot decode the format (e.g. TIFF in most browsers) or the file is not an image.
 */
export async function decodeImage(file) {
  if (typeof createImageBitmap === "function") {
    try {
      return await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (_) {
      /* fall through to <img> */
    }
  }
  const url = URL.createObjectURL(file);
  try {
    return await loadImage(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** An <img> of `url` (blob: or data:), decoded; null when it can't be. */
export async function loadImage(url) {
  try {
    const img = new Image();
    img.decoding = "async";
    img.src = url;
    await img.decode();
    return img;
  } catch (_) {
    return null;
  }
}

export class Preview {
  constructor(canvas, { onSelect } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onSelect = onSelect || (() => {});
    this.source = null; // decoded image or null
    this.imageSize = null; // {width, height} in original image pixels
    this.lines = [];
    this.selected = -1;
    this.hover = -1;

    canvas.addEventListener("click", (e) => {
      const i = this.hitTest(e.clientX, e.clientY);
      if (i >= 0) this.onSelect(i, "canvas");
    });
    canvas.addEventListener("mousemove", (e) => {
      const i = this.hitTest(e.clientX, e.clientY);
      if (i !== this.hover) {
        this.hover = i;
        canvas.style.cursor = i >= 0 ? "pointer" : "default";
        this.draw();
      }
    });
    canvas.addEventListener("mouseleave", () => {
      if (this.hover !== -1) {
        this.hover = -1;
        this.draw();
      }
    });
    // Keyboard: arrows move between boxes when the canvas has focus.
    canvas.addEventListener("keydown", (e) => {
      if (!this.lines.length) return;
      let next = null;
      if (e.key === "ArrowDown" || e.key === "ArrowRight") next = Math.min(this.lines.length - 1, this.selected + 1);
      else if (e.key === "ArrowUp" || e.key === "ArrowLeft") next = Math.max(0, this.selected < 0 ? 0 : this.selected - 1);
      else if (e.key === "Home") next = 0;
      else if (e.key === "End") next = this.lines.length - 1;
      if (next != null) {
        e.preventDefault();
        this.onSelect(next, "keyboard");
      }
    });
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(() => this.draw()).observe(canvas);
    }
  }

  /**
   * Show a new image (decoded source may be null). `size`: the {width, height} the boxes will
   * come in, when the source is smaller (a document page's thumbnail is drawn at the page's size).
   */
  setImage(source, size = null) {
    this.source = source;
    this.imageSize = size ? { ...size } : source ? { width: source.width, height: source.height } : null;
    this.lines = [];
    this.selected = -1;
    this.hover = -1;
    this.resize();
    this.draw();
  }

  /** Show recognised lines; `imageSize` is the server's {width, height} for the box coordinates. */
  setLines(lines, imageSize) {
    this.lines = lines.filter(Boolean);
    this.boxSpace = imageSize || this.imageSize;
    if (!this.imageSize && imageSize) {
      this.imageSize = { ...imageSize }; // undecodable format: draw boxes on a blank page
    }
    this.selected = -1;
    this.resize();
    this.draw();
  }

  clearLines() {
    this.lines = [];
    this.selected = -1;
    this.draw();
  }

  select(i) {
    this.selected = i;
    this.draw();
  }

  resize() {
    if (!this.imageSize) {
      this.canvas.width = 0;
      this.canvas.height = 0;
      return;
    }
    const { width, height } = this.imageSize;
    const scale = Math.min(1, MAX_CANVAS_SIDE / Math.max(width, height));
    this.scale = scale;
    this.canvas.width = Math.max(1, Math.round(width * scale));
    this.canvas.height = Math.max(1, Math.round(height * scale));
    this.canvas.dataset.imageWidth = String(width);
    this.canvas.dataset.imageHeight = String(height);
  }

  /** Canvas pixels per CSS pixel: keeps strokes a constant on-screen width. */
  pixelRatio() {
    const rect = this.canvas.getBoundingClientRect();
    return rect.width > 0 ? this.canvas.width / rect.width : 1;
  }

  /** Box (in server image pixels) → canvas pixels. */
  toCanvas(box) {
    const space = this.boxSpace || this.imageSize;
    const sx = (this.canvas.width / space.width) || 1;
    const sy = (this.canvas.height / space.height) || 1;
    return box.map(([x, y]) => [x * sx, y * sy]);
  }

  draw() {
    const { ctx, canvas } = this;
    if (!this.imageSize || !canvas.width) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (this.source) {
      ctx.drawImage(this.source, 0, 0, canvas.width, canvas.height);
    } else {
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    }
    const pr = this.pixelRatio();
    const anySelected = this.selected >= 0;
    this.lines.forEach((line, i) => {
      if (!line.box) return;
      const pts = this.toCanvas(line.box);
      const level = confidenceLevel(line.confidence);
      const isSel = i === this.selected;
      const isHover = i === this.hover;
      const c = isSel ? SELECTED : COLOURS[level];
      ctx.beginPath();
      pts.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
      ctx.fillStyle = isSel ? c.fill : isHover ? COLOURS[level].strong : anySelected ? "rgba(0,0,0,0)" : c.fill;
      ctx.fill();
      ctx.lineWidth = (isSel ? 3 : isHover ? 2.5 : 2) * pr;
      ctx.strokeStyle = c.stroke;
      ctx.globalAlpha = anySelected && !isSel && !isHover ? 0.55 : 1;
      ctx.stroke();
      ctx.globalAlpha = 1;
      this.drawBadge(i + 1, pts, c.stroke, pr);
    });
    canvas.dataset.boxes = String(this.lines.filter((l) => l.box).length);
    canvas.dataset.selected = String(this.selected);
  }

  drawBadge(label, pts, colour, pr) {
    const { ctx } = this;
    const minX = Math.min(...pts.map((p) => p[0]));
    const minY = Math.min(...pts.map((p) => p[1]));
    const size = 11 * pr;
    ctx.font = `600 ${size}px system-ui, -apple-system, "Segoe UI", sans-serif`;
    const text = String(label);
    const padX = 4 * pr;
    const w = ctx.measureText(text).width + padX * 2;
    const h = size + 4 * pr;
    let x = minX;
    let y = minY - h - 1 * pr;
    if (y < 0) y = minY + 1 * pr; // no room above: tuck inside the box
    x = Math.max(0, Math.min(x, this.canvas.width - w));
    ctx.fillStyle = colour;
    roundRect(ctx, x, y, w, h, 3 * pr);
    ctx.fill();
    ctx.fillStyle = "#ffffff";
    ctx.textBaseline = "middle";
    ctx.fillText(text, x + padX, y + h / 2 + 0.5 * pr);
  }

  /** Index of the line whose box contains the client point, or -1 (smallest box wins). */
  hitTest(clientX, clientY) {
    if (!this.lines.length || !this.canvas.width) return -1;
    const rect = this.canvas.getBoundingClientRect();
    const x = ((clientX - rect.left) * this.canvas.width) / rect.width;
    const y = ((clientY - rect.top) * this.canvas.height) / rect.height;
    const slack = 4 * this.pixelRatio(); // make thin boxes easier to hit
    let best = -1;
    let bestArea = Infinity;
    this.lines.forEach((line, i) => {
      if (!line.box) return;
      const pts = this.toCanvas(line.box);
      if (pointInPolygon(x, y, pts) || nearPolygon(x, y, pts, slack)) {
        const area = Math.abs(polygonArea(pts));
        if (area < bestArea) {
          best = i;
          bestArea = area;
        }
      }
    });
    return best;
  }
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

function pointInPolygon(x, y, pts) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function nearPolygon(x, y, pts, slack) {
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return x >= Math.min(...xs) - slack && x <= Math.max(...xs) + slack
    && y >= Math.min(...ys) - slack && y <= Math.max(...ys) + slack
    && (Math.max(...ys) - Math.min(...ys) < 3 * slack || Math.max(...xs) - Math.min(...xs) < 3 * slack);
}

function polygonArea(pts) {
  let a = 0;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) a += (pts[j][0] + pts[i][0]) * (pts[j][1] - pts[i][1]);
  return a / 2;
}
