// `npm start`: the local Pod launcher (packages/local-pod), run after scripts/start.sh installed and built.
// Usage: npm start -- [options]   (npm start -- --help lists them)
import '../packages/local-pod/dist/bin.js';
