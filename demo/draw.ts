/**
 * The drawing pad: white strokes on black, turned into an MNIST-like 28×28 input the way LeCun's set
 * was made: the digit's bounding box scaled to fit 20×20 (aspect kept), then moved so its center of
 * mass sits at the center of the 28×28 field.
 */
const SIDE = 28;
const BOX = 20;
const PAD = 280;
const SCALE = PAD / SIDE;

export class DrawPad {
  readonly #canvas: HTMLCanvasElement;
  readonly #context: CanvasRenderingContext2D;
  #drawing = false;
  #last: { x: number; y: number } | null = null;
  #inked = false;

  /** `onChange` gets the 28×28 input in [0, 1] after each stroke, or null once cleared. */
  constructor(
    canvas: HTMLCanvasElement,
    private readonly onChange: (pixels: Float32Array | null) => void,
  ) {
    this.#canvas = canvas;
    canvas.width = PAD;
    canvas.height = PAD;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('no 2D canvas context');
    this.#context = context;
    this.clear();
    canvas.addEventListener('pointerdown', (event) => {
      canvas.setPointerCapture(event.pointerId);
      this.#drawing = true;
      this.#last = this.#point(event);
      this.#stroke(this.#last);
      event.preventDefault();
    });
    canvas.addEventListener('pointermove', (event) => {
      if (this.#drawing) this.#stroke(this.#point(event));
    });
    const end = () => {
      if (!this.#drawing) return;
      this.#drawing = false;
      this.#last = null;
      this.onChange(this.pixels());
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  get inked(): boolean {
    return this.#inked;
  }

  clear(): void {
    this.#context.fillStyle = '#000';
    this.#context.fillRect(0, 0, PAD, PAD);
    this.#inked = false;
    this.onChange(null);
  }

  #point(event: PointerEvent): { x: number; y: number } {
    const rect = this.#canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * PAD,
      y: ((event.clientY - rect.top) / rect.height) * PAD,
    };
  }

  #stroke(to: { x: number; y: number }): void {
    const context = this.#context;
    const from = this.#last ?? to;
    context.strokeStyle = '#fff';
    context.lineWidth = 22;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
    this.#last = to;
    this.#inked = true;
  }

  /** The drawing as a 28×28 MNIST-style input, or null when nothing is drawn. */
  pixels(): Float32Array | null {
    const { data } = this.#context.getImageData(0, 0, PAD, PAD);
    let [left, top, right, bottom] = [PAD, PAD, -1, -1];
    for (let y = 0, at = 0; y < PAD; y++) {
      for (let x = 0; x < PAD; x++, at += 4) {
        if (data[at] === 0) continue;
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        bottom = y;
      }
    }
    if (right < 0) return null;
    // The bounding box scaled to fit BOX×BOX at 28-pixel scale, drawn at the pad's resolution, then
    // averaged over SCALE×SCALE blocks (an exact area downsampling).
    const width = right - left + 1;
    const height = bottom - top + 1;
    const fit = (BOX * SCALE) / Math.max(width, height);
    const scaled = document.createElement('canvas');
    scaled.width = PAD;
    scaled.height = PAD;
    const context = scaled.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
    context.fillStyle = '#000';
    context.fillRect(0, 0, PAD, PAD);
    const [w, h] = [width * fit, height * fit];
    context.drawImage(this.#canvas, left, top, width, height, (PAD - w) / 2, (PAD - h) / 2, w, h);
    const big = context.getImageData(0, 0, PAD, PAD).data;
    const small = new Float32Array(SIDE * SIDE);
    const weight = 1 / 255 / (SCALE * SCALE);
    for (let y = 0, at = 0; y < PAD; y++) {
      const row = ((y / SCALE) | 0) * SIDE;
      for (let x = 0; x < PAD; x++, at += 4) {
        const i = row + ((x / SCALE) | 0);
        small[i] = (small[i] as number) + (big[at] as number) * weight;
      }
    }
    return centerOfMass(small);
  }
}

/** Moves the image so that its center of mass lands on the center of the field. */
function centerOfMass(image: Float32Array): Float32Array {
  let [mass, mx, my] = [0, 0, 0];
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const v = image[y * SIDE + x] as number;
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  const dx = Math.round((SIDE - 1) / 2 - mx / mass);
  const dy = Math.round((SIDE - 1) / 2 - my / mass);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const [sx, sy] = [x - dx, y - dy];
      if (sx >= 0 && sx < SIDE && sy >= 0 && sy < SIDE) out[y * SIDE + x] = image[sy * SIDE + sx] as number;
    }
  }
  return out;
}

/** Paints a 28×28 image in [0, 1] (white on black) into a canvas of 28×28 pixels. */
export function paintDigit(canvas: HTMLCanvasElement, pixels: ArrayLike<number>): void {
  canvas.width = SIDE;
  canvas.height = SIDE;
  const context = canvas.getContext('2d') as CanvasRenderingContext2D;
  const image = context.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = Math.round((pixels[i] ?? 0) * 255);
    image.data.set([v, v, v, 255], i * 4);
  }
  context.putImageData(image, 0, 0);
}
