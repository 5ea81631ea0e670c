// wgsl_reflect's ES build has the same API as the package's typed entry point.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
