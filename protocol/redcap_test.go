package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

const rcHeader = "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation\r\n"

func TestREDCapHandWrittenMatchesYAML(t *testing.T) {
	want := fingerprint(t, mustExample(t))
	b, err := os.ReadFile("testdata/htn201_redcap.csv")
	if err != nil {
		t.Fatal(err)
	}
	p, w, err := LoadREDCap(bytes.NewReader(b), "htn201_redcap.csv", mustExample(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
	if got := fingerprint(t, p); got != want {
		t.Fatalf("hand-written dictionary fingerprint %s, YAML %s", got, want)
	}
	var gen bytes.Buffer
	if err := WriteREDCap(&gen, Example()); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(gen.Bytes(), b) {
		t.Fatal("the committed dictionary should be the hand-written one, not the generated one")
	}
}

func TestREDCapRoundTripFromREDCap(t *testing.T) {
	// dictionary -> model -> dictionary -> model keeps the fingerprint.
	b, _ := os.ReadFile("testdata/htn201_redcap.csv")
	p1, _, err := LoadREDCap(bytes.NewReader(b), "a.csv", mustExample(t))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteREDCap(&out, p1); err != nil {
		t.Fatal(err)
	}
	p2, _, err := LoadREDCap(&out, "b.csv", p1)
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, p1) != fingerprint(t, p2) {
		t.Fatal("round trip changed the fingerprint")
	}
}

// rcHeaderWith is REDCap's header row with the given separator and no
// quotes.
func rcHeaderWith(sep string) string {
	hs := make([]string, len(redcapColumns))
	for i, c := range redcapColumns {
		hs[i] = c.header
	}
	return strings.Join(hs, sep) + "\r\n"
}

func TestREDCapLenientInput(t *testing.T) {
	body := "record_id,demo,,text,Record ID,,,,,,,,,,,,,\r\n" +
		"age,demo,,text,Age,,,integer,18,80,,,y,,,,,\r\n" +
		"sex,demo,,radio,Sex,\"1, Male | 2, Female\",,,,,,,,,,,,\r\n"
	want := ""
	variants := map[string]string{
		"plain":     rcHeader + body,
		"bom":       "\ufeff" + rcHeader + body,
		"lf":        strings.ReplaceAll(rcHeader+body, "\r\n", "\n"),
		"trailing":  strings.ReplaceAll(rcHeader+body, "\r\n", ",,\r\n"),
		"snakecase": "field_name,form_name,section_header,field_type,field_label,select_choices_or_calculations,field_note,text_validation_type_or_show_slider_number,text_validation_min,text_validation_max,identifier,branching_logic,required_field,custom_alignment,question_number,matrix_group_name,matrix_ranking,field_annotation\n" + body,
		"semicolon": strings.ReplaceAll(strings.ReplaceAll(rcHeader, "\"Choices, Calculations, OR Slider Labels\"", "Choices Calculations OR Slider Labels"), ",", ";") +
			strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(body, ",", ";"), "1; Male", "1, Male"), "2; Female", "2, Female"),
		// As spreadsheets in semicolon and tab locales save REDCap's own
		// header, whose choices column holds a comma.
		"semicolon header comma": rcHeaderWith(";") + strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(body, ",", ";"), "1; Male", "1, Male"), "2; Female", "2, Female"),
		"tab":                    rcHeaderWith("\t") + strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(body, ",", "\t"), "1\t Male", "1, Male"), "2\t Female", "2, Female"),
		"blanklines":             rcHeader + "\r\n,,,,,\r\n" + body + "\r\n",
		"quoted":                 rcHeader + strings.ReplaceAll(body, "age,demo,", "\"age\",\"demo\","),
	}
	for name, in := range variants {
		p, _, err := LoadREDCap(strings.NewReader(in), "lenient.csv", nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		fp := fingerprint(t, p)
		if want == "" {
			want = fp
		} else if fp != want {
			c, _ := p.Canonical()
			t.Errorf("%s: fingerprint differs: %s", name, c)
		}
	}
}

func TestREDCapDefaultsWithoutBase(t *testing.T) {
	in := rcHeader +
		"record_id,demo,,text,Record ID,,,,,,,,,,,,,\n" +
		"age,demo,,text,Age,,,integer,18,80,,,y,,,,,\n" +
		"bp1,vitals,,text,BP,,,integer,,,,,,,,bp,,\n" +
		"bp2,vitals,,text,BP 2,,,integer,,,,,,,,bp,,\n" +
		"temp,vitals,,text,Temp,,,number_1dp,,,,,,,,,,\n"
	p, w, err := LoadREDCap(strings.NewReader(in), "my study.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Study.ID != "MY-STUDY" || p.Study.Version != "1.0" {
		t.Errorf("study %+v", p.Study)
	}
	if len(p.Events) != 1 || p.Events[0].OID != "EVENT_1" || strings.Join(p.Events[0].Forms, ",") != "demo,vitals" {
		t.Errorf("events %+v", p.Events)
	}
	v := p.Forms[1]
	if v.OID != "vitals" || v.Name != "Vitals" || len(v.Groups) != 2 || v.Groups[0].OID != "bp" || v.Groups[1].OID != "vitals_2" {
		t.Errorf("vitals form %+v", v)
	}
	age := p.Forms[0].Groups[0].Items[0]
	if age.OID != "age" || age.Type != TypeInteger || age.Soft == nil || age.Soft.Min != "18" || age.Hard != nil || !age.Required {
		t.Errorf("age %+v", age)
	}
	if temp := v.Groups[1].Items[0]; temp.Type != TypeDecimal || temp.Digits != 1 {
		t.Errorf("temp %+v", temp)
	}
	assertWarn(t, w, "no base protocol")
	assertWarn(t, w, "created one event EVENT_1")
	assertWarn(t, w, "is the record ID")
}

// TestREDCapSliderRange: a slider takes integers from 0 to 100, or from
// the field's own min/max (REDCap's rule); a hard range tag overrides
// them; the warning on its labels states what the ledger will enforce.
func TestREDCapSliderRange(t *testing.T) {
	for _, tc := range []struct {
		name, minMax, annotation string
		warn                     string
		ok, bad                  []string
	}{
		{"default", ",", "", "integer values from 0 to 100)", []string{"0", "100"}, []string{"-1", "101", "50.5"}},
		{"the field's min and max", "-1,101", "", "integer values from -1 to 101)", []string{"-1", "101"}, []string{"-2", "102"}},
		{"the field's min only", "10,", "", "integer values from 10 to 100)", []string{"10", "100"}, []string{"9", "101"}},
		{"a hard range tag", "-1,101", "@VT-HARD-MAX=10", "integer values from -1 to 10)", []string{"-1", "10"}, []string{"-2", "11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := rcHeader + "record_id,f,,text,Record ID,,,,,,,,,,,,,\r\n" +
				"pain,f,,slider,Pain,None | Worst,,number," + tc.minMax + ",,,,,,,," + tc.annotation + "\r\n"
			p, w, err := LoadREDCap(strings.NewReader(in), "s.csv", nil)
			if err != nil {
				t.Fatal(err)
			}
			assertWarn(t, w, `slider field "pain": slider labels "None | Worst" not imported (the item takes `+tc.warn)
			c, err := Compile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range append(tc.ok, tc.bad...) {
				hard := false
				for _, pr := range c.Validate("f", []ItemValue{{Item: "pain", Value: v}}, nil) {
					hard = hard || pr.Severity == Hard
				}
				if want := slices.Contains(tc.bad, v); hard != want {
					t.Errorf("%s refused: %v, want %v", v, hard, want)
				}
			}
		})
	}
}

func assertWarn(t *testing.T, ws []Warning, sub string) Warning {
	t.Helper()
	for _, w := range ws {
		if strings.Contains(w.String(), sub) {
			return w
		}
	}
	var all []string
	for _, w := range ws {
		all = append(all, w.String())
	}
	t.Errorf("no warning containing %q in:\n%s", sub, strings.Join(all, "\n"))
	return Warning{}
}

func TestREDCapEveryWarning(t *testing.T) {
	in := strings.TrimSuffix(rcHeader, "\r\n") + ",Extra Column\r\n" +
		"record_id,f,,text,Record ID,,,,,,,,,,,,,,\r\n" +
		"age,f,,text,Age,,,integer,,,,,,,,,,,\r\n" +
		"bmi,f,,calc,BMI,[weight]/([height]*[height]),,,,,,,,,,,,,\r\n" +
		"intro,f,Part B,descriptive,Read this,,,,,,,,,,,,,,\r\n" +
		"scan,f,,file,Scan,,,,,,,,,,,,,,\r\n" +
		"initials,f,,text,Initials,,,,,,n,,,,,,,,\r\n" +
		"comments,f,,notes,Comments,,,email,,,,,,,,,,,\r\n" +
		"pain,f,,slider,Pain,Low | Mid | High,,,,,,,,,,,,,\r\n" +
		"weird,f,,signature_pad,Weird,,,,,,,,,,,,,,\r\n" +
		"wt,f,,text,Weight,,,number_1dp_comma_decimal,,,,,,RH,,,,,\r\n" +
		"lap,f,,text,Lap,,,time_mm_ss,,,,,,,,,,,\r\n" +
		"mail,f,,text,Mail,,,email,,,,,,,,,,,\r\n" +
		"pc,f,,text,Postcode,,,postalcode_uk,,,,,,,,,,,\r\n" +
		"code,f,,text,Code,,,my_custom_regex,,,,,,,,,,,\r\n" +
		"pick,f,,radio,Pick,A | B,,,,,,,,,,,,,\r\n" +
		"ev,f,,text,Ev,,,,,,,[baseline_arm_1][age] > 1,,,,,,,\r\n" +
		"cb,f,,text,Cb,,,,,,,[user-name] = \"x\",,,,,,,\r\n" +
		"usecalc,f,,text,Uses calc,,,,,,,[bmi] > 30,,,,,,,\r\n" +
		"tagged,f,,text,Tagged,,,,,,,,,,,,,@VT-COLOUR=red @HIDDEN,\r\n" +
		"visit,f,,text,Visit date,,,date_ymd,2020-01-01,today,,,,,,,,,\r\n" +
		"rank,f,,text,Rank,,,,,,,,,,7,,y,,\r\n"
	p, w, err := LoadREDCap(strings.NewReader(in), "w.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{
		`column 19 "Extra Column" is not a REDCap data dictionary column`,
		"no base protocol",
		"created one event EVENT_1",
		`field "record_id" is the record ID`,
		`calc field "bmi" not imported: calculation "[weight]/([height]*[height])": it refers to "weight", which is not a field of the dictionary`,
		`descriptive field "intro" not imported`,
		`its section header "Part B" moves to the next field`,
		`file field "scan" not imported`,
		`notes field "comments": validation "email" ignored`,
		`slider field "pain": slider labels`,
		`unknown field type "signature_pad"`,
		`"number_1dp_comma_decimal" values must be submitted with a decimal point`,
		`validation time_mm_ss`,
		`field "mail": email validation imported as a pattern; an e-mail address or phone number usually identifies a person`,
		`validation "postalcode_uk" imported as free text`,
		`unknown validation type "my_custom_regex"`,
		`choice "A" has no comma`,
		`[event_name][variable] syntax`,
		`[user-name] (smart variable or unknown checkbox field) is not supported`,
		`it refers to calc field "bmi"`,
		`unknown action tag @VT-COLOUR`,
		`min/max "today" of field "visit" not imported`,
		`Custom Alignment": 1 field(s) have a value`,
		`Question Number (surveys only)": 1 field(s)`,
		`Matrix Ranking?": 1 field(s)`,
	} {
		assertWarn(t, w, sub)
	}
	it := func(oid string) Item {
		for _, f := range p.Forms {
			for _, g := range f.Groups {
				for _, x := range g.Items {
					if x.OID == oid {
						return x
					}
				}
			}
		}
		t.Fatalf("no item %s", oid)
		return Item{}
	}
	if x := it("initials"); x.Annotation != "" || x.Section != "Part B" {
		t.Errorf("initials %+v", x)
	}
	if x := it("pain"); x.Type != TypeInteger || x.Hard == nil || x.Hard.Min != "0" || x.Hard.Max != "100" {
		t.Errorf("pain %+v", x)
	}
	if x := it("mail"); x.Type != TypeText || x.Pattern == "" || x.PatternMessage == "" {
		t.Errorf("mail %+v", x)
	}
	if x := it("tagged"); x.Annotation != "@HIDDEN" {
		t.Errorf("tagged annotation %q", x.Annotation)
	}
	if x := it("ev"); x.ShowIf != "" {
		t.Errorf("event logic kept: %q", x.ShowIf)
	}
	if x := it("visit"); x.Soft == nil || x.Soft.Min != "2020-01-01" || x.Soft.Max != "" {
		t.Errorf("visit %+v", x.Soft)
	}
	// Each warning names the file and row.
	for _, x := range w {
		if x.File != "w.csv" {
			t.Errorf("warning without file: %v", x)
		}
	}
}

func TestREDCapTrueFalseAndTags(t *testing.T) {
	in := rcHeader +
		"record_id,f,,text,ID,,,,,,,,,,,,,@VT-RECORD-ID\n" +
		"tf,f,,truefalse,Is it?,,,,,,,,,,,,,\n" +
		"sbp,f,,text,SBP,,,integer,90,180,,[tf] = \"1\",y,,,,,\"@VT-OID=VS.SYSBP @VT-UNIT=\"\"mm Hg\"\" @VT-HARD-MIN=60 @VT-HARD-MAX=250 note\"\n" +
		"ae,f,,text,AE,,,,,,,,,,,,,@VT-GROUP-OID=AE.LOG @VT-REPEATING @VT-MAX-REPEATS=9 @VT-MAXLEN=20 @VT-FORM-OID=F1 @VT-FORM-NAME=\"Form one\"\n" +
		"pd,f,,text,PD,,,,,,,,,,,,,@VT-TYPE=partial_date\n" +
		"d6,f,,text,D6,,,number,,,,,,,,,,@VT-DIGITS=6\n"
	p, w, err := LoadREDCap(strings.NewReader(in), "t.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range w {
		if strings.Contains(x.Msg, "record ID") {
			t.Errorf("tagged record ID warned: %v", x)
		}
	}
	f := p.Forms[0]
	if f.OID != "F1" || f.Name != "Form one" || len(f.Groups) != 2 {
		t.Fatalf("form %+v", f)
	}
	tf := f.Groups[0].Items[0]
	if tf.Type != TypeChoice || tf.CodeList != "TRUEFALSE" {
		t.Errorf("truefalse %+v", tf)
	}
	sbp := f.Groups[0].Items[1]
	if sbp.OID != "VS.SYSBP" || sbp.Unit != "mm Hg" || sbp.Hard.Min != "60" || sbp.Hard.Max != "250" ||
		sbp.Soft.Min != "90" || sbp.ShowIf != `[tf] = "1"` || sbp.Annotation != "note" {
		t.Errorf("sbp %+v", sbp)
	}
	g := f.Groups[1]
	if g.OID != "AE.LOG" || !g.Repeating || g.MaxRepeats != 9 || g.Items[0].MaxLength != 20 {
		t.Errorf("group %+v", g)
	}
	if g.Items[1].Type != TypePartialDate || g.Items[2].Digits != 6 {
		t.Errorf("items %+v", g.Items)
	}
	if len(p.CodeLists) != 1 || p.CodeLists[0].Items[0] != (CodeItem{"1", "True"}) {
		t.Errorf("codelists %+v", p.CodeLists)
	}
	// Write and reload: same fingerprint.
	var out bytes.Buffer
	if err := WriteREDCap(&out, p); err != nil {
		t.Fatal(err)
	}
	q, _, err := LoadREDCap(&out, "t2.csv", p)
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, p) != fingerprint(t, q) {
		a, _ := p.Canonical()
		b, _ := q.Canonical()
		t.Fatalf("round trip:\n%s\n%s", a, b)
	}
}

func TestREDCapErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // substrings of the error
		row      int
		column   string
	}{
		{"empty", "", []string{"empty"}, 1, ""},
		{"no header column", "Variable / Field Name,Form Name,Field Type\nx,f,text\n", []string{`no "Field Label" column`}, 1, "Field Label"},
		{"duplicate header", "Variable / Field Name,Form Name,Field Type,Field Label,field_type\n", []string{"repeats column"}, 1, "field_type"},
		{"header only", rcHeader, []string{"no fields"}, 2, ""},
		{"too many cells", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,,,surplus\n", []string{"row has 20 columns but the header has 18", "quote"}, 2, ""},
		{"bad quote", rcHeader + "record_id,f,,text,\"ID,,,,,,,,,,,,,\n", []string{"malformed CSV"}, 0, ""},
		{"duplicate variable", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,,,,,,,\na,f,,text,A,,,,,,,,,,,,,\n", []string{`variable "a" is already defined in row 3`}, 4, "Variable / Field Name"},
		{"bad variable", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\n2a b,f,,text,A,,,,,,,,,,,,,\n", []string{`variable name "2a b" is not valid`}, 3, "Variable / Field Name"},
		{"no choices", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\nc,f,,radio,C,,,,,,,,,,,,,\n", []string{`field "c" has no choices`}, 3, "Choices, Calculations, OR Slider Labels"},
		{"dup code", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\nc,f,,radio,C,\"1, A | 1, B\",,,,,,,,,,,,\n", []string{`code "1" appears twice`}, 3, ""},
		{"codelist conflict", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\nc,f,,radio,C,\"1, A\",,,,,,,,,,,,@VT-CODELIST=CL\nd,f,,radio,D,\"1, B\",,,,,,,,,,,,@VT-CODELIST=CL\n", []string{`code list "CL" has different choices than in row 3`}, 4, ""},
		{"non-contiguous form", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,,,,,,,\nb,g,,text,B,,,,,,,,,,,,,\nc,f,,text,C,,,,,,,,,,,,,\n", []string{`form "f" started in row 3`}, 5, "Form Name"},
		{"dangling branching", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,[nothere] = \"1\",,,,,,\n", []string{"nothere"}, 3, "Branching Logic (Show field only if...)"},
		{"bad condition", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,[a] = = 1,,,,,,\n", []string{"show_if"}, 3, "Branching Logic (Show field only if...)"},
		{"duplicate OID", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,,,,,,,@VT-OID=X.A\nb,f,,text,B,,,,,,,,,,,,,@VT-OID=X.A\n", []string{`item OID "X.A" is already used by the field in row 3`}, 4, "Field Annotation"},
		{"bad check", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,,,,,,,@VT-CHECK={\"oid\":1}\n", []string{"not a valid"}, 3, "Field Annotation"},
		{"bad tag value", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,,,,,,,\"@VT-UNIT=\"\"open\"\n", []string{"@VT-UNIT value is not valid"}, 3, "Field Annotation"},
		{"bad maxlen", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,,,,,,,@VT-MAXLEN=ten\n", []string{"@VT-MAXLEN=ten is not a whole number"}, 3, "Field Annotation"},
		{"no type", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,,A,,,,,,,,,,,,,\n", []string{`field "a" has no field type`}, 3, "Field Type"},
		{"no form", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,,,text,A,,,,,,,,,,,,,\n", []string{`field "a" has no form name`}, 3, "Form Name"},
		{"decimal places beyond REDCap's", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,number_5dp,,,,,,,,,,\n", []string{`validation "number_5dp" asks for 5 decimal places`, "number_1dp to number_4dp"}, 3, "Text Validation Type OR Show Slider Number"},
		{"bad pattern tag", rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,,,,,,,@VT-PATTERN=[0-9\n", []string{"not a regular expression"}, 3, "Field Annotation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := LoadREDCap(strings.NewReader(c.in), "bad.csv", nil)
			if err == nil {
				t.Fatal("no error")
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v is not a *LoadError", err, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if le.File != "bad.csv" {
				t.Errorf("file %q", le.File)
			}
			if c.row != 0 && le.Row != c.row {
				t.Errorf("row %d, want %d (%v)", le.Row, c.row, err)
			}
			if c.column != "" && le.Column != c.column {
				t.Errorf("column %q, want %q (%v)", le.Column, c.column, err)
			}
			if le.Fix == "" {
				t.Errorf("no fix in %v", err)
			}
		})
	}
}

func TestREDCapBaseEventsDangling(t *testing.T) {
	base := mustExample(t)
	in := rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\na,f,,text,A,,,,,,,,,,,,,\n"
	_, _, err := LoadREDCap(strings.NewReader(in), "x.csv", base)
	if err == nil || !strings.Contains(err.Error(), "base protocol events") {
		t.Fatalf("want dangling form references from the base events, got %v", err)
	}
}

func TestWriteREDCapRejects(t *testing.T) {
	if err := WriteREDCap(&bytes.Buffer{}, &Protocol{}); err == nil {
		t.Error("empty protocol written")
	}
	p := mustExample(t)
	p.CodeLists[0].Items[0].Decode = "a | b"
	if err := WriteREDCap(&bytes.Buffer{}, p); err == nil {
		t.Error("decode with | written")
	}
}

// rcDictionary generates a dictionary of n fields in 10-field forms.
func rcDictionary(n int) []byte {
	var b strings.Builder
	b.WriteString(rcHeader)
	b.WriteString("record_id,form_0,,text,Record ID,,,,,,,,,,,,,@VT-RECORD-ID\r\n")
	for i := 0; i < n; i++ {
		form := fmt.Sprintf("form_%d", i/10)
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "f%d,%s,Section %d,text,Field %d,,Note,integer,0,100,,,y,,,,,@VT-OID=F.F%d @VT-HARD-MIN=-10 @VT-HARD-MAX=1000 @VT-UNIT=mg\r\n", i, form, i, i, i)
		case 1:
			fmt.Fprintf(&b, "f%d,%s,,radio,Field %d,\"1, Yes | 0, No | 9, Unknown\",,,,,,[f%d] > 5,,,,,,\r\n", i, form, i, i-1)
		case 2:
			fmt.Fprintf(&b, "f%d,%s,,text,Field %d,,,number_2dp,1.5,99.5,,,,,,,,\r\n", i, form, i)
		case 3:
			fmt.Fprintf(&b, "f%d,%s,,text,Field %d,,,date_ymd,,,,\"[f%d] = \"\"1\"\" and [f%d] <> \"\"\"\"\",,,,,,\r\n", i, form, i, i-2, i-3)
		default:
			fmt.Fprintf(&b, "f%d,%s,,checkbox,Field %d,\"1, A | 2, B | 3, C\",,,,,,,,,,,,@VT-CODELIST=CL.ABC\r\n", i, form, i)
		}
	}
	return []byte(b.String())
}

func TestREDCapLarge(t *testing.T) {
	p, _, err := LoadREDCap(bytes.NewReader(rcDictionary(1000)), "big.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range p.Forms {
		for _, g := range f.Groups {
			n += len(g.Items)
		}
	}
	if n != 1000 || len(p.Forms) != 100 {
		t.Fatalf("%d items in %d forms", n, len(p.Forms))
	}
}

func BenchmarkLoadREDCap1000(b *testing.B) {
	in := rcDictionary(1000)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := LoadREDCap(bytes.NewReader(in), "big.csv", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestREDCapStrayQuoteWarns(t *testing.T) {
	in := rcHeader + "record_id,f,,text,ID,,,,,,,,,,,,,\r\nh,f,,text,Height 5\" tall,,,,,,,,,,,,,\r\n"
	p, w, err := LoadREDCap(strings.NewReader(in), "q.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	assertWarn(t, w, "stray double quote")
	if p.Forms[0].Groups[0].Items[0].Label != `Height 5" tall` {
		t.Errorf("label %q", p.Forms[0].Groups[0].Items[0].Label)
	}
}

// TestREDCapRefusesIdentifiers: a field marked Identifier? = y is not
// imported: the whole dictionary is refused, naming each such row, its
// column and the fix.
func TestREDCapRefusesIdentifiers(t *testing.T) {
	in := rcHeader +
		"record_id,demo,,text,Record ID,,,,,,,,,,,,,,\r\n" +
		"initials,demo,,text,Initials,,,,,,y,,,,,,,,\r\n" +
		"age,demo,,text,Age,,,integer,,,,,,,,,,,\r\n" +
		"mrn,demo,,text,Hospital number,,,,,,Y,,,,,,,,\r\n"
	_, _, err := LoadREDCap(strings.NewReader(in), "dd.csv", nil)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("a dictionary with identifier fields: %v, want a *LoadError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`dd.csv: row 3: column "Identifier?"`, `field "initials" is marked as an identifier`,
		`dd.csv: row 5: column "Identifier?": field "mrn" is marked as an identifier`,
		"fix: delete the row", "clear its Identifier? cell",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, `"age"`) {
		t.Errorf("the refusal names a field that is not an identifier:\n%s", msg)
	}
	// Fields validated as identifiers are refused whatever their flag.
	for _, val := range []string{"ssn", "mrn_10d", "mrn_generic", "vmrn"} {
		in := rcHeader + "record_id,demo,,text,Record ID,,,,,,,,,,,,,,\r\n" + "num,demo,,text,Number,,," + val + ",,,,,,,,,,,\r\n"
		_, _, err := LoadREDCap(strings.NewReader(in), "dd.csv", nil)
		if err == nil || !strings.Contains(err.Error(), `row 3: column "Text Validation Type OR Show Slider Number": field "num" is validated as `+val) {
			t.Errorf("%s: %v", val, err)
		}
	}
	// Without the flags the same dictionary loads.
	in = strings.ReplaceAll(strings.ReplaceAll(in, ",,y,,", ",,,,"), ",,Y,,", ",,,,")
	if _, _, err := LoadREDCap(strings.NewReader(in), "dd.csv", nil); err != nil {
		t.Fatalf("the dictionary without identifier flags: %v", err)
	}
}

// TestREDCapTruncated: a dictionary cut short (the last row cut mid-record,
// a quoted cell never closed) or with a row missing columns is refused,
// naming the row.
func TestREDCapTruncated(t *testing.T) {
	b, err := os.ReadFile("testdata/htn201_redcap.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\r\n"))
	last := len(lines) - 1 // row number of the last record (header is row 1)
	if len(lines[last]) == 0 {
		lines, last = lines[:last], last-1
	}
	keep := bytes.Join(lines[:last], nil)
	dthdt := lines[last-1] // the row before the last has a quoted cell
	q := bytes.IndexByte(dthdt, '"')
	short := bytes.Replace(b, []byte(",,,,,@VT-OID=EOS.DTHDT"), []byte("@VT-OID=EOS.DTHDT"), 1)
	for _, c := range []struct {
		name string
		data []byte
		row  int
		msg  string
	}{
		{"last row cut mid-record", append(bytes.Clone(keep), lines[last][:20]...), last + 1, "cut short"},
		{"quoted cell never closed", append(bytes.Join(lines[:last-1], nil), dthdt[:q+5]...), last, "not closed"},
		{"row with too few columns", short, last, "columns but the header has"},
	} {
		_, _, err := LoadREDCap(bytes.NewReader(c.data), "cut.csv", mustExample(t))
		var le *LoadError
		if !errors.As(err, &le) || le.Row != c.row || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want a refusal naming row %d", c.name, err, c.row)
		}
	}
}

// TestREDCapCalc: calc fields become derived items when veritrial computes
// them alike; otherwise the warning names every function it cannot
// translate, and the fields that refer to them are not imported either.
// A dictionary -> protocol -> dictionary round trip keeps the calc fields.
func TestREDCapCalc(t *testing.T) {
	in := rcHeader +
		"record_id,f,,text,ID,,,,,,,,,,,,,\r\n" +
		"h,f,,text,Height,,,number_1dp,,,,,,,,,,\r\n" +
		"w,f,,text,Weight,,,number_1dp,,,,,,,,,,\r\n" +
		"sx,f,,radio,Sex,\"1, M | 2, F\",,,,,,,,,,,,\r\n" +
		"bmi,f,,calc,BMI,\"round([w]/(([h]/100)*([h]/100)),1)\",,,,,,,,,,,,@VT-DIGITS=1\r\n" +
		"adj,f,,calc,Adjusted,\"if([sx] = '2', max([w], [bmi]) * 0.85, abs(-[w]))\",,,,,,,,,,,,\r\n" +
		"tot,f,,calc,Total,\"sum([h],[w]) + sqrt([h]) + [h]^2\",,,,,,,,,,,,\r\n" +
		"age,f,,calc,Age,\"rounddown(datediff([h],[w],'y'),0)\",,,,,,,,,,,,\r\n" +
		"uses,f,,calc,Uses total,\"[tot] + 1\",,,,,,,,,,,,@VT-TYPE=integer\r\n"
	p, w, err := LoadREDCap(strings.NewReader(in), "calc.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	assertWarn(t, w, `calc field "tot" not imported: calculation "sum([h],[w]) + sqrt([h]) + [h]^2": it uses sqrt(), sum(), the ^ operator, which veritrial cannot compute the same way`)
	assertWarn(t, w, `calc field "age" not imported: calculation "rounddown(datediff([h],[w],'y'),0)": it uses datediff(), rounddown()`)
	assertWarn(t, w, "REDCap's datediff is unsigned")
	assertWarn(t, w, `calc field "uses" not imported: calculation "[tot] + 1": it refers to calc field "tot", which is not imported`)
	items := p.Forms[0].Groups[0].Items
	got := map[string]Item{}
	for _, it := range items {
		got[it.OID] = it
	}
	if it := got["bmi"]; it.Derive != "round([w] / ([h] / 100 * ([h] / 100)), 1)" || it.Type != TypeDecimal || it.Digits != 1 {
		t.Errorf("bmi: %+v", it)
	}
	if it := got["adj"]; it.Derive != `if([sx] = "2", max([w], [bmi]) * 0.85, abs(-[w]))` {
		t.Errorf("adj: %+v", it)
	}
	if _, ok := got["tot"]; ok {
		t.Error("tot imported")
	}
	var out bytes.Buffer
	if err := WriteREDCap(&out, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `bmi,f,,calc,BMI,"round([w] / ([h] / 100 * ([h] / 100)), 1)",,,,,,,,,,,,@VT-DIGITS=1`) {
		t.Errorf("no calc row:\n%s", out.String())
	}
	p2, _, err := LoadREDCap(bytes.NewReader(out.Bytes()), "again.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	p2.Study = p.Study // named after the file
	f1, _ := p.Fingerprint()
	f2, _ := p2.Fingerprint()
	if f1 != f2 {
		j1, _ := p.Canonical()
		j2, _ := p2.Canonical()
		t.Errorf("calc fields changed in the round trip:\n%s\n%s", j1, j2)
	}
}

// TestREDCapAsREDCapWritesIt loads what real REDCap exports hold: checkbox
// branching, datetimes with a space, number_Ndp, contact-detail
// validations and a record-ID-only first instrument.
func TestREDCapAsREDCapWritesIt(t *testing.T) {
	in := rcHeader +
		"record_id,enrolment,,text,Record ID,,,,,,,,,,,,,\r\n" +
		"visit_dt,visit,,text,Visit date and time,,,datetime_ymd,2024-01-15 13:45,2030-12-31 23:59,,,y,,,,,\r\n" +
		"meds,visit,,checkbox,Medications,\"1, ACE inhibitor | 2, Beta blocker | 3, Diuretic\",,,,,,,,,,,,\r\n" +
		"bb_dose,visit,,text,Beta blocker dose,,,number_2dp,,,,[meds(2)] = '1',,,,,,\r\n" +
		"late,visit,,text,Late note,,,,,,,[visit_dt] > '2025-06-01 08:00',,,,,,\r\n" +
		"site_mail,visit,,text,Site contact e-mail,,,email,,,,,,,,,,\r\n" +
		"site_phone,visit,,text,Site phone,,,phone,,,,,,,,,,\r\n" +
		"site_zip,visit,,text,Site ZIP code,,,zipcode,,,,,,,,,,\r\n"
	p, w, err := LoadREDCap(strings.NewReader(in), "real.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	assertWarn(t, w, `instrument "enrolment" holds only the record ID field "record_id": kept as form enrolment with no items`)
	if len(p.Forms) != 2 || p.Forms[0].OID != "enrolment" || len(p.Forms[0].Groups) != 0 || p.Forms[1].OID != "visit" {
		t.Fatalf("forms %+v", p.Forms)
	}
	if ev := p.Events[0].Forms; !slices.Equal(ev, []string{"enrolment", "visit"}) {
		t.Errorf("event forms %v", ev)
	}
	items := map[string]Item{}
	for _, g := range p.Forms[1].Groups {
		for _, it := range g.Items {
			items[it.OID] = it
		}
	}
	if s := items["visit_dt"].Soft; s == nil || s.Min != "2024-01-15T13:45" || s.Max != "2030-12-31T23:59" {
		t.Errorf("datetime range %+v", s)
	}
	if got := items["bb_dose"].ShowIf; got != "[meds(2)] = '1'" {
		t.Errorf("checkbox branching %q", got)
	}
	if got := items["late"].ShowIf; got != "[visit_dt] > '2025-06-01T08:00'" {
		t.Errorf("datetime in branching %q", got)
	}
	c := mustCompile(t, p)
	base := []ItemValue{{Item: "visit_dt", Value: "2025-07-01T09:00"}, {Item: "meds", Value: "2"}}
	cases := []struct {
		item, value, code string
	}{
		{"bb_dose", "2.50", ""},
		{"bb_dose", "2.5", CodePatternMismatch},
		{"bb_dose", "2.505", CodeDecimalTooManyDigits},
		{"site_mail", "trial.office@example.org", ""},
		{"site_mail", "trial.office", CodePatternMismatch},
		{"site_phone", "(555) 555-0123", ""},
		{"site_phone", "555-0123", CodePatternMismatch},
		{"site_zip", "02139-4307", ""},
		{"site_zip", "2139", CodePatternMismatch},
		{"late", "seen", ""},
	}
	for _, tc := range cases {
		vals := append(slices.Clone(base), ItemValue{Item: tc.item, Value: tc.value})
		var codes []string
		for _, pr := range c.Validate("visit", vals, nil) {
			if pr.Severity == Hard {
				codes = append(codes, pr.Code)
			}
		}
		if want := []string{tc.code}; tc.code == "" && len(codes) != 0 || tc.code != "" && !slices.Equal(codes, want) {
			t.Errorf("%s=%q: hard problems %v, want %q", tc.item, tc.value, codes, tc.code)
		}
	}
	// The beta blocker dose is hidden unless code 2 is ticked.
	vals := []ItemValue{{Item: "visit_dt", Value: "2025-07-01T09:00"}, {Item: "meds", Value: "1,3"}, {Item: "bb_dose", Value: "2.50"}}
	if ps := c.Validate("visit", vals, nil); len(ps) != 1 || ps[0].Code != CodeHiddenHasValue {
		t.Errorf("checkbox branching not applied: %v", ps)
	}
	// The patterns survive a round trip through the writer.
	var out bytes.Buffer
	if err := WriteREDCap(&out, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{",number_2dp,", ",email,", ",phone,", ",zipcode,"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("written dictionary lacks %s", want)
		}
	}
	p2, _, err := LoadREDCap(&out, "again.csv", p)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Forms[0].OID != "enrolment" || len(p2.Forms[0].Groups) != 0 {
		t.Errorf("record ID instrument after round trip: %+v", p2.Forms[0])
	}
	for oid, it := range items {
		var it2 Item
		for _, g := range p2.Forms[1].Groups {
			for _, x := range g.Items {
				if x.OID == oid {
					it2 = x
				}
			}
		}
		if it2.Pattern != it.Pattern || it2.PatternMessage != it.PatternMessage || it2.Digits != it.Digits {
			t.Errorf("%s: round trip %+v, want %+v", oid, it2, it)
		}
	}
}

// TestREDCapPatternTags keeps a pattern REDCap has no validation for in
// @VT-PATTERN tags.
func TestREDCapPatternTags(t *testing.T) {
	p := mustExample(t)
	it := &p.Forms[0].Groups[0].Items[0]
	it.Type, it.Pattern, it.PatternMessage = TypeText, `[A-Z]{2}-[0-9]{3}`, "a kit number such as AB-123"
	var out bytes.Buffer
	if err := WriteREDCap(&out, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `@VT-PATTERN=""[A-Z]{2}-[0-9]{3}""`) {
		t.Errorf("no pattern tag in:\n%s", out.String()[:600])
	}
	p2, _, err := LoadREDCap(&out, "p.csv", p)
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, p2) != fingerprint(t, p) {
		t.Error("round trip changed the protocol")
	}
}

// TestREDCapPartialBase registers a dictionary against a base holding only
// the study and its events, as sponsors keep it beside the dictionary.
func TestREDCapPartialBase(t *testing.T) {
	full := mustExample(t)
	var y bytes.Buffer
	if err := WriteYAML(&y, &Protocol{Study: full.Study, Events: full.Events, Randomization: full.Randomization}); err != nil {
		t.Fatal(err)
	}
	base, err := LoadBase(&y, "base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("testdata/htn201_redcap.csv")
	p, _, err := LoadREDCap(bytes.NewReader(b), "htn201_redcap.csv", base)
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, p) != fingerprint(t, full) {
		t.Error("dictionary with a partial base differs from the YAML protocol")
	}
	for _, bad := range []struct{ in, want string }{
		{"events: []\n", "no study ID"},
		{"study: {id: X}\nevents: [{oid: E, typo: 1}]\n", "typo"},
		{"", "empty"},
	} {
		if _, err := LoadBase(strings.NewReader(bad.in), "b.yaml"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.in, err, bad.want)
		}
	}
}
