// Command fillcells types values into a veritrial workbook the way a person
// would in Excel or LibreOffice: it finds the row of a subject and event on
// a form's sheet (by the columns headed SUBJECT and EVENT in row 1, in any
// case) and the column of each item OID, and writes the values. It fills a
// data-entry workbook (veritrial form template) and, to show what
// veritrial audit verify-export finds, changes a cell of an exported one.
// The demo and scripted tests use it; people use a spreadsheet program.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fillcells:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fillcells", flag.ContinueOnError)
	sheet := fs.String("sheet", "", "form sheet (the form OID, e.g. DM)")
	subject := fs.String("subject", "", "subject ID of the row")
	event := fs.String("event", "", "event OID of the row")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: fillcells --sheet DM --subject S1-001 --event SCR WORKBOOK.xlsx ITEM=VALUE...")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sheet == "" || *subject == "" || *event == "" || fs.NArg() < 2 {
		fs.Usage()
		return errors.New("missing arguments")
	}
	path := fs.Arg(0)
	f, err := excelize.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := f.GetRows(*sheet)
	if err != nil {
		return fmt.Errorf("sheet %s: %w", *sheet, err)
	}
	if len(rows) == 0 {
		return fmt.Errorf("sheet %s is empty", *sheet)
	}
	cols := map[string]int{}
	for i, oid := range rows[0] {
		cols[oid] = i + 1
	}
	subjCol, evCol := keyColumn(rows[0], "subject"), keyColumn(rows[0], "event")
	if subjCol < 0 || evCol < 0 {
		return fmt.Errorf("sheet %s has no subject and event columns in row 1", *sheet)
	}
	row := 0
	for i, r := range rows {
		if len(r) > max(subjCol, evCol) && r[subjCol] == *subject && r[evCol] == *event {
			row = i + 1
			break
		}
	}
	if row == 0 {
		return fmt.Errorf("sheet %s has no row for subject %s at event %s", *sheet, *subject, *event)
	}
	for _, kv := range fs.Args()[1:] {
		item, value, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q is not ITEM=VALUE", kv)
		}
		col, ok := cols[item]
		if !ok {
			return fmt.Errorf("sheet %s has no column for item %s", *sheet, item)
		}
		cell, err := excelize.CoordinatesToCellName(col, row)
		if err != nil {
			return err
		}
		if err := f.SetCellStr(*sheet, cell, value); err != nil {
			return err
		}
	}
	return f.Save()
}

// keyColumn returns the index of the header name in row 1, in any case, or
// -1.
func keyColumn(header []string, name string) int {
	return slices.IndexFunc(header, func(h string) bool { return strings.EqualFold(h, name) })
}
