package types

// DeviationStatus is open while a visit's recorded date lies outside its
// window, closed once a correction brings it inside.
type DeviationStatus string

// Deviation statuses.
const (
	DeviationOpen   DeviationStatus = "open"
	DeviationClosed DeviationStatus = "closed"
)

// Deviation is a protocol deviation the ledger records: a scheduled visit
// dated outside its window. It is keyed by the form that carries the
// visit's date and decided from dates in the data only (the visit date
// and the calendar's anchor), whenever either is entered or corrected.
type Deviation struct {
	FormKey
	Site   string          `json:"site"`
	Item   string          `json:"item"` // the visit-date item
	Status DeviationStatus `json:"status"`
	DeviationCheck
	History []DeviationEntry `json:"history"`
}

// DeviationCheck is one evaluation of a visit's date against its window:
// dates as YYYY-MM-DD; DaysOff is negative when the visit came that many
// days before the window opened, positive after it closed, 0 within.
type DeviationCheck struct {
	VisitDate       string `json:"visit_date"`
	Anchor          string `json:"anchor"` // the anchor date the window counts from
	Target          string `json:"target"`
	Earliest        string `json:"earliest"`
	Latest          string `json:"latest"`
	DaysOff         int    `json:"days_off"`
	ProtocolVersion int    `json:"protocol_version"`
}

// DeviationEntry is one step of a deviation's trail: open, update (the
// visit still outside its window, on other dates), close or reopen.
type DeviationEntry struct {
	Action string `json:"action"`
	DeviationCheck
	Stamp Stamp `json:"stamp"`
}
