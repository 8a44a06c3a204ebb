// Placeholder: replaced by the durable driver's host stand-in (emulator/durable).
export {};
