package types

// DecodeTxGeneral is DecodeTx without its fast path, the reference the
// fast path must agree with.
var DecodeTxGeneral = decodeTxGeneral

// DecodeCanonical is DecodeTx's fast path alone.
var DecodeCanonical = decodeCanonical

// ReceivedSignBytes are the sign bytes DecodeTx kept.
func (tx *Tx) ReceivedSignBytes() []byte { return tx.signBytes }
