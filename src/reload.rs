//! One mechanism for every watched file: read, parse, validate, swap atomically, keep the last good.
