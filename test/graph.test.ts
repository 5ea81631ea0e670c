import { describe, expect, it } from 'vitest';
import { CpuDevice } from '../src/device/cpu.js';
import type { Program } from '../src/device/device.js';
import { compileGraph } from '../src/graph/executor.js';
import { planBuffers } from '../src/graph/plan.js';
import { joinWgsl, sourceLine } from '../src/kernels/gpu.js';
import { buildPredictGraph, buildTrainGraph } from '../src/nn/graphs.js';
import { mlp } from '../src/nn/mlp.js';
import { adam, sgd } from '../src/nn/optim.js';
import { WebGpuDevice } from '../src/webgpu/device.js';

const spec = mlp({ sizes: [784, 64, 32, 10], keepProb: { input: 0.8, hidden: 0.5 }, seed: 1 });

describe('autodiff', () => {
  const { graph } = buildTrainGraph(spec, 16, sgd({ lr: 0.1, momentum: 0.9 }), 2);
  const ops = graph.nodes.map((n) => n.op);

  it('derives the three GEMMs of backprop, skipping dX of the input', () => {
    const matmuls = graph.nodesOf('matmul');
    // forward Y = X·Wᵀ ×3; backward dW = dYᵀ·X ×3; dX = dY·W ×2 (no gradient for the input x).
    expect(matmuls.map((n) => `${n.attrs.transA ? 'T' : 'N'}${n.attrs.transB ? 'T' : 'N'}`).sort()).toEqual(
      ['NT', 'NT', 'NT', 'TN', 'TN', 'TN', 'NN', 'NN'].sort(),
    );
    expect(matmuls.some((n) => n.name === 'grad(x:dropout)')).toBe(false);
  });

  it('regenerates each hidden mask in the backward pass with the forward attributes', () => {
    const dropouts = graph.nodesOf('dropout');
    expect(dropouts.map((n) => n.attrs.site)).toEqual([0, 1, 2, 2, 1]);
    expect(ops.filter((op) => op === 'act_grad')).toHaveLength(2);
    expect(ops.filter((op) => op === 'bias_grad')).toHaveLength(3);
  });

  it('orders forward, loss, backward, then updates and max-norm', () => {
    const lossIndex = ops.indexOf('softmax_xent');
    expect(ops.indexOf('softmax_xent_grad')).toBe(lossIndex + 1);
    const firstUpdate = ops.indexOf('sgd');
    expect(ops.slice(firstUpdate)).toEqual([...new Array(6).fill('sgd'), 'max_norm', 'max_norm', 'max_norm']);
  });
});

describe('buffer plan', () => {
  it.each([
    ['sgd', sgd({ lr: 0.1, momentum: 0.9 })],
    ['adam', adam({ lr: 0.001 })],
  ] as const)(
    '%s: every tensor has a slot, persistent tensors their own, transients share',
    (_name, optimizer) => {
      const { graph } = buildTrainGraph(spec, 16, optimizer, 2);
      const plan = planBuffers(graph);
      expect(plan.slotOf.every((slot) => slot >= 0)).toBe(true);
      const persistent = graph.tensors.filter((t) => !['activation', 'gradient'].includes(t.role));
      const persistentSlots = new Set(persistent.map((t) => plan.slotOf[t.id]));
      expect(persistentSlots.size).toBe(persistent.length);
      expect(plan.slots.length).toBeLessThan(graph.tensors.length);
      for (const node of graph.nodes) {
        // An output shares a buffer with an input only when it is that input, updated in place.
        const reads = new Map(node.inputs.map((id) => [plan.slotOf[id], id]));
        for (const out of node.outputs) {
          const sharer = reads.get(plan.slotOf[out]);
          if (sharer !== undefined) expect(sharer, node.name).toBe(out);
        }
      }
    },
  );

  it('never hands a slot to a new tensor while an old one in it is still to be read', () => {
    const { graph } = buildTrainGraph(spec, 16, sgd({ lr: 0.1 }));
    const plan = planBuffers(graph);
    const lastRead = new Map<number, number>();
    graph.nodes.forEach((n, i) => {
      for (const id of n.inputs) lastRead.set(id, i);
    });
    const holder = new Map<number, number>();
    for (const t of graph.tensors) {
      if (t.role !== 'activation' && t.role !== 'gradient') holder.set(plan.slotOf[t.id] as number, t.id);
    }
    graph.nodes.forEach((node, i) => {
      for (const id of node.inputs)
        expect(holder.get(plan.slotOf[id] as number), `${node.name} reads ${id}`).toBe(id);
      for (const id of node.outputs) {
        const slot = plan.slotOf[id] as number;
        const previous = holder.get(slot);
        if (previous !== undefined && previous !== id)
          expect(lastRead.get(previous) ?? -1).toBeLessThanOrEqual(i);
        holder.set(slot, id);
      }
    });
  });

  it('the inference graph has no dropout', () => {
    const { graph } = buildPredictGraph(spec, 8);
    expect(graph.nodes.map((n) => n.op)).toEqual([
      'matmul',
      'bias_act',
      'matmul',
      'bias_act',
      'matmul',
      'bias_act',
      'softmax',
    ]);
  });
});

describe('fusion', () => {
  it('makes each hidden layer one matmul forward and folds mask × act′ into the dX matmul', () => {
    const { graph } = buildTrainGraph(spec, 16, sgd({ lr: 0.1 }), undefined, true);
    expect(graph.nodes.map((n) => n.op)).toEqual([
      'dropout', // the input site
      'matmul', // layer 0: + bias + relu + dropout
      'matmul', // layer 1: + bias + relu + dropout
      'matmul', // logits + bias
      'softmax_xent',
      'softmax_xent_grad',
      'matmul', // dX of layer 2, + mask + relu′
      'matmul', // dX of layer 1, + mask + relu′
      'matmul', // dW of layer 0 + its SGD step + the bias gradient (column sums of dY)
      'sgd', // layer 0's bias
      'matmul', // layer 1: the same
      'sgd',
      'matmul', // layer 2: the same
      'sgd',
    ]);
    // No weight gradient is ever stored: each updating matmul writes the weight (and makes db).
    const updating = graph.nodesOf('matmul').filter((n) => n.attrs.update);
    expect(updating.map((n) => graph.get(n.outputs[0] as number).name)).toEqual([
      'layers.0.weight',
      'layers.1.weight',
      'layers.2.weight',
    ]);
    expect(updating.map((n) => graph.get(n.outputs[1] as number).name)).toEqual([
      'grad(layers.0.bias)',
      'grad(layers.1.bias)',
      'grad(layers.2.bias)',
    ]);
    const written = new Set(graph.nodes.flatMap((n) => n.outputs));
    for (const name of ['grad(layers.0.weight)', 'grad(layers.1.weight)', 'grad(layers.2.weight)']) {
      expect(written.has(graph.find(name).id), name).toBe(false);
    }
    const forward = graph.nodesOf('matmul').slice(0, 2);
    expect(forward.map((n) => n.outputs.length)).toEqual([2, 2]);
    expect(forward.every((n) => n.attrs.bias && n.attrs.activation === 'relu' && n.attrs.dropout)).toBe(true);
  });

  it('keeps Adam a pass of its own (compileGraph fuses it where the device can) but still takes the bias gradient from the dW matmul', () => {
    const { graph } = buildTrainGraph(spec, 16, adam({ lr: 0.01 }), undefined, true);
    expect(graph.nodesOf('bias_grad')).toHaveLength(0);
    expect(graph.nodesOf('adam')).toHaveLength(6);
    expect(graph.nodesOf('matmul').filter((n) => n.attrs.update)).toHaveLength(0);
    expect(graph.nodesOf('matmul').filter((n) => n.attrs.colSum)).toHaveLength(3);
  });

  it('fuses the bias gradient into a gradient-only graph too, keeping every gradient as an output', () => {
    const { graph, grads } = buildTrainGraph(spec, 16, null, undefined, true);
    expect(graph.nodesOf('bias_grad')).toHaveLength(0);
    const written = new Set(graph.nodes.flatMap((n) => n.outputs));
    for (const grad of grads) expect(written.has(grad), graph.get(grad).name).toBe(true);
  });
});

describe('bias-update fusion (compileGraph, on devices that have it)', () => {
  /** A device without the capability, as Wasm: its matmul kernel has no bias update. */
  class WithoutBiasUpdates extends CpuDevice {
    override readonly fusesBiasUpdates = false;
  }
  const optimizer = sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });

  it.each([
    ['CPU', new CpuDevice('f32'), 0],
    ['a device without it (Wasm)', new WithoutBiasUpdates('f32'), 3],
  ] as const)('%s: %i sgd nodes left', async (_name, device, sgdNodes) => {
    const { graph } = buildTrainGraph(spec, 16, optimizer, 2, true);
    const before = graph.nodes.length;
    expect(graph.nodesOf('sgd')).toHaveLength(3);
    const compiled = await compileGraph(device, 'train', graph);
    // One node (one dispatch on WebGPU) fewer per layer; max-norm stays a node of its own.
    expect(graph.nodesOf('sgd')).toHaveLength(sgdNodes);
    expect(graph.nodes.length).toBe(before - 3 + sgdNodes);
    expect(graph.nodesOf('max_norm')).toHaveLength(3);
    const fused = graph.nodesOf('matmul').filter((n) => n.attrs.biasUpdate);
    expect(fused).toHaveLength(3 - sgdNodes);
    for (const node of fused) {
      // [W, vW, b, vb]: the bias and its velocity in place, the bias's own weight decay (0).
      expect(node.outputs.map((id) => graph.get(id).name.replace(/\d/, 'k'))).toEqual([
        'layers.k.weight',
        'layers.k.weight:velocity',
        'layers.k.bias',
        'layers.k.bias:velocity',
      ]);
      expect(node.attrs.biasUpdate).toEqual({ weightDecay: 0 });
    }
    compiled.dispose();
  });

  it('does not fuse when a node between reads the bias', async () => {
    const { graph } = buildTrainGraph(spec, 16, sgd({ lr: 0.1 }), undefined, true);
    const bias = graph.find('layers.0.bias').id;
    const matmul = graph.nodes.findIndex((n) => n.name.startsWith('grad(layers.0.weight)'));
    const probe = graph.tensor('probe', [64], 'output');
    graph.node('add', 'reads the bias', [bias, bias], [probe], {});
    graph.nodes.splice(matmul + 1, 0, graph.nodes.pop() as (typeof graph.nodes)[number]);
    (await compileGraph(new CpuDevice('f32'), 'train', graph)).dispose();
    expect(graph.nodesOf('sgd').map((n) => n.name)).toEqual(['layers.0.bias:sgd']);
  });
});

describe('compileGraph', () => {
  it('frees the buffers it made when the device cannot make the program', async () => {
    class Failing extends CpuDevice {
      override async createProgram(): Promise<Program> {
        throw new Error('no program here');
      }
    }
    const device = new Failing('f32');
    const { graph } = buildTrainGraph(spec, 4, sgd({ lr: 0.1 }), undefined, true);
    await expect(compileGraph(device, 'failing', graph)).rejects.toThrow('no program here');
    expect(device.memory()).toEqual({ buffers: 0, bytes: 0 });
  });
});

describe('sharing between a net’s programs', () => {
  it('refuses a program whose parameter, optimizer state or metrics is not in the sharing map', async () => {
    const device = new CpuDevice('f32');
    const { graph } = buildTrainGraph(spec, 4, sgd({ lr: 0.1, momentum: 0.9 }), undefined, true);
    const shared = new Map(
      graph.tensors
        .filter((t) => t.role === 'parameter' || t.role === 'optimizer_state' || t.role === 'metrics')
        .map((t) => [
          t.name,
          device.createBuffer(
            t.name,
            t.dtype,
            t.shape.reduce((a, b) => a * b, 1),
          ),
        ]),
    );
    const before = device.memory();
    for (const missing of ['layers.1.weight', 'layers.0.bias:velocity', 'metrics']) {
      const partial = new Map([...shared].filter(([name]) => name !== missing));
      await expect(compileGraph(device, 'resident', graph, { shared: partial })).rejects.toThrow(
        new RegExp(`"${missing.replace('.', '\\.')}" has no shared buffer`),
      );
      expect(device.memory()).toEqual(before);
    }
    const compiled = await compileGraph(device, 'train', graph, { shared });
    expect(compiled.bufferNamed('layers.1.weight')).toBe(shared.get('layers.1.weight'));
    expect(compiled.bufferNamed('metrics')).toBe(shared.get('metrics'));
    compiled.dispose();
  });
});

describe('joined WGSL', () => {
  it('maps each line of the joined text back to its file and line', () => {
    const source = joinWgsl({ name: 'a.wgsl', code: 'one\ntwo' }, { name: 'b.wgsl', code: 'x\ny\nz' });
    expect(source.code).toBe('one\ntwo\nx\ny\nz');
    expect([1, 2, 3, 5].map((line) => sourceLine(source, line))).toEqual([
      'a.wgsl:1',
      'a.wgsl:2',
      'b.wgsl:1',
      'b.wgsl:3',
    ]);
    expect(joinWgsl('philox', 'dropout').files.map((f) => f.name)).toEqual(['philox.wgsl', 'dropout.wgsl']);
  });
});

describe('Adam-update fusion (compileGraph, on devices that have it)', () => {
  /** A device without the capability, as WebGPU with 8 storage buffers a stage, or Wasm. */
  class WithoutAdamUpdates extends CpuDevice {
    override readonly fusesAdamUpdates = false;
  }
  const optimizer = adam({ lr: 0.01, weightDecay: 1e-3 });

  it.each([
    ['CPU', new CpuDevice('f32'), 0],
    ['a device without it (8 storage buffers a stage)', new WithoutAdamUpdates('f32'), 6],
  ] as const)('%s: the adam nodes left', async (_name, device, adamNodes) => {
    const { graph } = buildTrainGraph(spec, 16, optimizer, 2, true);
    const before = graph.nodes.length;
    expect(graph.nodesOf('adam')).toHaveLength(6);
    const compiled = await compileGraph(device, 'train', graph);
    // Two nodes (two dispatches on WebGPU) fewer per layer: the weight's adam and the bias's.
    expect(graph.nodesOf('adam')).toHaveLength(adamNodes);
    expect(graph.nodes.length).toBe(before - 6 + adamNodes);
    expect(graph.nodesOf('max_norm')).toHaveLength(3);
    const fused = graph.nodesOf('matmul').filter((n) => n.attrs.adamUpdate);
    expect(fused).toHaveLength(adamNodes === 0 ? 3 : 0);
    for (const node of fused) {
      // [W, mW, vW, b, mb, vb], all in place; the weight's decay on W, none on the bias.
      expect(node.outputs.map((id) => graph.get(id).name.replace(/\d/, 'k'))).toEqual([
        'layers.k.weight',
        'layers.k.weight:adam_m',
        'layers.k.weight:adam_v',
        'layers.k.bias',
        'layers.k.bias:adam_m',
        'layers.k.bias:adam_v',
      ]);
      expect(node.outputs.every((id) => node.inputs.includes(id))).toBe(true);
      expect(node.attrs.adamUpdate).toEqual({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-3 });
      expect(node.attrs.biasUpdate).toEqual({ weightDecay: 0 });
    }
    // No weight gradient nor bias gradient is stored any more.
    const written = new Set(graph.nodes.flatMap((n) => n.outputs));
    const grads = graph.tensors.filter((t) => /^grad\(layers\.\d\.(weight|bias)\)$/.test(t.name));
    expect(grads.filter((t) => written.has(t.id))).toHaveLength(adamNodes === 0 ? 0 : 6);
    compiled.dispose();
  });

  it('fuses Adam but not the bias step on a device without bias updates', async () => {
    class WithoutBiasUpdates extends CpuDevice {
      override readonly fusesBiasUpdates = false;
    }
    const { graph } = buildTrainGraph(spec, 16, optimizer, undefined, true);
    (await compileGraph(new WithoutBiasUpdates('f32'), 'train', graph)).dispose();
    expect(graph.nodesOf('adam').map((n) => n.name)).toEqual([0, 1, 2].map((k) => `layers.${k}.bias:adam`));
    const fused = graph.nodesOf('matmul').filter((n) => n.attrs.adamUpdate);
    expect(fused.map((n) => [n.attrs.colSum, n.attrs.biasUpdate])).toEqual([
      [true, undefined],
      [true, undefined],
      [true, undefined],
    ]);
  });

  it('leaves SGD as it was', async () => {
    const { graph } = buildTrainGraph(spec, 16, sgd({ lr: 0.1, momentum: 0.9 }), undefined, true);
    (await compileGraph(new CpuDevice('f32'), 'train', graph)).dispose();
    expect(graph.nodesOf('matmul').filter((n) => n.attrs.adamUpdate)).toHaveLength(0);
    expect(graph.nodesOf('matmul').filter((n) => n.attrs.update && n.attrs.biasUpdate)).toHaveLength(3);
  });

  it.each([
    [8, false],
    [9, true],
    [10, true],
  ])('WebGPU with %i storage buffers a stage: fusesAdamUpdates %s', (buffers, fuses) => {
    // Only what the constructor reads: the limits, the error listener and the loss promise.
    const gpu = {
      limits: {
        maxBufferSize: 2 ** 28,
        maxStorageBufferBindingSize: 2 ** 27,
        maxComputeWorkgroupsPerDimension: 65535,
        maxStorageBuffersPerShaderStage: buffers,
      },
      addEventListener: () => {},
      lost: new Promise(() => {}),
    } as unknown as GPUDevice;
    const device = new WebGpuDevice(gpu, 'fake', false, { autotune: false, kernelChoice: undefined });
    expect(device.fusesAdamUpdates).toBe(fuses);
  });
});
