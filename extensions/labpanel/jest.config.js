// Unit tests of the panel's pure parts (src/model.ts): what the state becomes on the map and in
// the tables, which %xmpp line each action writes, how the event stream is cut into events.
module.exports = {
  testEnvironment: 'node',
  testRegex: 'src/.*/.*\\.spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json']
};
