// Built without stubbing WASI (scripts/build-guests.mjs): the component
// imports wasi:* interfaces, which wray does not grant to guests.
export const unused = 0;
