package protocol

import (
	"slices"
	"strconv"
	"strings"
)

// compileMissingCodes checks Protocol.MissingCodes and every item's
// Missing list.
func (k *compiler) compileMissingCodes() {
	c := k.c
	c.missingCodes = map[string]*CodeItem{}
	for i := range c.p.MissingCodes {
		mc := &c.p.MissingCodes[i]
		path := idx("missing_codes", i)
		switch {
		case mc.Code == "":
			k.add(path, "", "missing-data code has no code", "give it a code such as ND")
			continue
		case !validMissingCode(mc.Code):
			k.add(path, mc.Code, "missing-data code "+strconv.Quote(mc.Code)+" is not valid: use letters, digits, _ and -", "write e.g. ND, NA, UNK or ASKU")
			continue
		}
		if _, dup := c.missingCodes[mc.Code]; dup {
			k.add(path, mc.Code, "missing-data code "+mc.Code+" is declared twice", "declare each code once")
			continue
		}
		c.missingCodes[mc.Code] = mc
	}
	k.eachItem(func(ci *cItem, path string) {
		it := ci.item
		seen := map[string]bool{}
		for j, code := range it.Missing {
			mp := idx(path+".missing", j)
			switch {
			case c.missingCodes[code] == nil:
				k.add(mp, it.OID, "missing-data code "+strconv.Quote(code)+" is not declared in missing_codes", "declare it under missing_codes or remove it")
			case seen[code]:
				k.add(mp, it.OID, "missing-data code "+code+" is listed twice", "list each code once")
			}
			seen[code] = true
		}
	})
}

func validMissingCode(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isCodeByte(s[i]) {
			return false
		}
	}
	return s != ""
}

// eachItem calls f on every item that is the first of its OID, with its
// definition path.
func (k *compiler) eachItem(f func(ci *cItem, path string)) {
	for fi := range k.c.p.Forms {
		form := &k.c.p.Forms[fi]
		for gi := range form.Groups {
			g := &form.Groups[gi]
			for ii := range g.Items {
				if ci := k.c.items[g.Items[ii].OID]; ci != nil && ci.item == &g.Items[ii] {
					f(ci, idx(idx(idx("forms", fi)+".groups", gi)+".items", ii))
				}
			}
		}
	}
}

// compileDerivations parses every Item.Derive, checks its references,
// types, digits and cycles, and orders each form's derived items.
func (k *compiler) compileDerivations() {
	paths := map[*cItem]string{}
	k.eachItem(func(ci *cItem, path string) {
		it := ci.item
		if it.Derive == "" {
			return
		}
		path += ".derive"
		paths[ci] = path
		if it.Type != TypeInteger && it.Type != TypeDecimal {
			k.add(path, it.OID, "a derived item must be an integer or decimal item, not "+string(it.Type), "make it integer or decimal, or remove derive")
		}
		if it.ShowIf != "" {
			k.add(path, it.OID, "a derived item is computed whenever its inputs have values; it cannot have show_if", "remove show_if (the value is empty while an input is)")
		}
		if it.Required {
			k.add(path, it.OID, "a derived item is computed, never typed, so it cannot be required", "remove required and make its inputs required")
		}
		if len(it.Missing) > 0 {
			k.add(path, it.OID, "a derived item cannot take missing-data codes", "remove missing; it is empty while an input is")
		}
		d, err := ParseDerivation(it.Derive)
		if err != nil {
			ce, _ := err.(*ConditionError)
			k.add(path, it.OID, "derive column "+strconv.Itoa(ce.Pos)+": "+ce.Msg, ce.Fix)
			return
		}
		f := ci.form.form
		nerr := len(k.errs)
		k.checkRefs(path, it.OID, "derive", d.walkOperands, f, ci.group, "")
		if len(k.errs) > nerr {
			return
		}
		scale, unbounded, ok := k.exprScale(path, it.OID, d.root)
		if !ok {
			return
		}
		switch {
		case it.Type == TypeInteger && (unbounded || scale > 0):
			k.add(path, it.OID, "derive may give decimal places but "+it.OID+" is an integer item", "wrap it in round(..., 0)")
			return
		case it.Type == TypeDecimal && it.Digits > 0 && (unbounded || scale > it.Digits):
			places := "any number of"
			if !unbounded {
				places = "up to " + strconv.Itoa(scale)
			}
			k.add(path, it.OID, "derive may give "+places+" decimal places but digits is "+strconv.Itoa(it.Digits), "wrap it in round(..., "+strconv.Itoa(it.Digits)+")")
			return
		}
		ci.derive = d
		for _, oid := range d.refs {
			if ri := k.c.items[oid]; ri.form == ci.form {
				ci.deriveRefs = append(ci.deriveRefs, ri)
			}
		}
	})
	k.checkCycles(paths)
	for _, cf := range k.formList {
		for _, ci := range orderDerived(cf.items) {
			if g := &cf.groups[ci.group]; g.repeating {
				g.derived = append(g.derived, ci)
			} else {
				cf.derived = append(cf.derived, ci)
			}
		}
	}
}

// checkCycles reports derived items that depend on themselves, across
// forms too.
func (k *compiler) checkCycles(paths map[*cItem]string) {
	const (
		unseen = iota
		active
		done
	)
	state := map[*cItem]int{}
	var stack []*cItem
	var visit func(ci *cItem)
	visit = func(ci *cItem) {
		state[ci] = active
		stack = append(stack, ci)
		for _, oid := range ci.derive.refs {
			ri := k.c.items[oid]
			if ri.derive == nil {
				continue
			}
			switch state[ri] {
			case active:
				cycle := stack[slices.Index(stack, ri):]
				names := make([]string, 0, len(cycle)+1)
				for _, x := range cycle {
					names = append(names, x.item.OID)
				}
				names = append(names, ri.item.OID)
				k.add(paths[ci], ci.item.OID, "derived items depend on each other in a cycle: "+strings.Join(names, " -> "), "break the cycle: derive one of them from collected items only")
			case unseen:
				visit(ri)
			}
		}
		stack = stack[:len(stack)-1]
		state[ci] = done
	}
	k.eachItem(func(ci *cItem, _ string) {
		if ci.derive != nil && state[ci] == unseen {
			visit(ci)
		}
	})
}

// orderDerived returns the derived items of a form, each after the
// derived items of the form it refers to, otherwise in protocol order.
// Items of a cycle (already reported) are left out.
func orderDerived(items []*cItem) []*cItem {
	placed := map[*cItem]bool{}
	var out []*cItem
	for progress := true; progress; {
		progress = false
		for _, ci := range items {
			if ci.derive == nil || placed[ci] {
				continue
			}
			ready := true
			for _, ri := range ci.deriveRefs {
				if ri.derive != nil && !placed[ri] {
					ready = false
				}
			}
			if ready {
				placed[ci] = true
				out = append(out, ci)
				progress = true
			}
		}
	}
	return out
}

// exprScale checks the types of a derivation's operands and returns the
// most decimal places its value can have (unbounded when an input is a
// decimal item without digits). ok is false when it reported a problem.
func (k *compiler) exprScale(path, oid string, n *exprNode) (scale int, unbounded, ok bool) {
	switch n.kind {
	case exNum:
		return int(n.num.scale), false, true
	case exRef:
		return k.refScale(path, oid, &n.ref)
	case exDateDiff:
		ok = true
		for _, a := range n.args {
			if a.kind == exDate {
				continue
			}
			if a.kind != exRef || a.ref.checkbox || k.c.items[a.ref.oid].item.Type != TypeDate {
				k.add(path, oid, "datediff takes date items or dates written \"YYYY-MM-DD\"", "write datediff([start date], [end date], \"d\")")
				ok = false
			}
		}
		return 0, false, ok
	}
	ok = true
	for i, a := range n.args {
		s, u, good := k.exprScale(path, oid, a)
		if !good {
			ok = false
			continue
		}
		switch n.kind {
		case exMul:
			scale += s
		default:
			scale = max(scale, s)
		}
		unbounded = unbounded || u
		if n.kind == exDiv && i == 1 && a.kind == exNum && a.num.c == 0 {
			k.add(path, oid, "derive divides by zero", "divide by a value other than 0")
			ok = false
		}
	}
	switch n.kind {
	case exMul:
		scale = min(scale, MaxDeriveDigits)
	case exDiv:
		return DivisionPlaces, false, ok
	case exRound:
		return n.places, false, ok
	}
	return scale, unbounded, ok
}

// refScale checks that an item a derivation computes with holds numbers
// and returns their most decimal places.
func (k *compiler) refScale(path, oid string, o *operand) (int, bool, bool) {
	ri := k.c.items[o.oid]
	it := ri.item
	if it.Type == TypeChoice && ri.codes == nil {
		return 0, false, false // the missing code list is reported already
	}
	if o.checkbox {
		return 0, false, true // "1" or "0"
	}
	switch it.Type {
	case TypeInteger, TypeYesNo:
		return 0, false, true
	case TypeDecimal:
		return it.Digits, it.Digits == 0, true
	case TypeChoice:
		places := 0
		for _, code := range ri.codes.list.Items {
			d, ok := parseDecimal(code.Code)
			if !ok {
				k.add(path, oid, "derive computes with "+it.OID+", whose code "+strconv.Quote(code.Code)+" is not a number", "use an item with numeric codes, or if(["+it.OID+`] = "`+code.Code+`", ..., ...)`)
				return 0, false, false
			}
			places = max(places, d.Places())
		}
		return places, false, true
	case TypeMultiChoice:
		k.add(path, oid, "derive computes with multiple-choice item "+it.OID, "refer to one of its codes as ["+it.OID+"(code)], which is 1 or 0")
	case TypeDate:
		k.add(path, oid, "derive computes with date item "+it.OID, "use datediff(["+it.OID+"], [other date], \"d\")")
	default:
		k.add(path, oid, "derive computes with "+string(it.Type)+" item "+it.OID+", which is not a number", "refer to integer, decimal, yes/no or numeric choice items")
	}
	return 0, false, false
}
