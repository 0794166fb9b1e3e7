// The compiled addon; `npm install` builds it with node-gyp (see binding.gyp).
module.exports = require('./build/Release/glmtune_native.node');
