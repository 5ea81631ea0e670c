import { init, numpy as np, defaultDevice, jit } from '@jax-js/jax';
await init('wasm');
defaultDevice('wasm');
const rnd=(n)=>new Float32Array(n).map(()=>Math.random()-0.5);
async function bench(name, M,N,K, ta, tb) {
  const a = np.array(rnd(M*K)).reshape(ta?[K,M]:[M,K]);
  const b = np.array(rnd(K*N)).reshape(tb?[N,K]:[K,N]);
  const f = jit((a,b)=>np.matmul(ta? a.transpose():a, tb? b.transpose(): b));
  let best=1e9;
  for (let r=0;r<6;r++){
    const t=performance.now();
    const c = f(a.ref, b.ref);
    await c.data();
    best=Math.min(best,performance.now()-t);
  }
  console.log(name, M,N,K, best.toFixed(2),'ms', (2*M*N*K/best/1e6).toFixed(1),'GFLOP/s');
}
for (const B of [128,512]) {
  await bench('fwd1',B,1024,784,false,true);
  await bench('fwd2',B,1024,1024,false,true);
  await bench('fwd3',B,10,1024,false,true);
  await bench('dx2',B,1024,1024,false,false);
  await bench('dx3',B,1024,10,false,false);
  await bench('dw1',1024,784,B,true,false);
  await bench('dw2',1024,1024,B,true,false);
  await bench('dw3',10,1024,B,true,false);
}
