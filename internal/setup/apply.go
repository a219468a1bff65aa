package setup

import (
	"context"
	"fmt"
	"io"
)

// State is what a look found.
type State int

// The states of a resource.
const (
	// Missing: the look found nothing; the create commands make it.
	Missing State = iota
	// InPlace: it exists as setup wants it.
	InPlace
	// Differs: it exists with other settings; setup reports the fix
	// commands and changes nothing.
	Differs
)

// Resource is one piece of an installation.
type Resource struct {
	// Name says what it is, as the report shows it.
	Name string
	// Look is the read-only command that finds it. A look failing with
	// "not found" means Missing; failing otherwise stops the run.
	Look Command
	// Judge tells from the look's output whether the resource is in place;
	// nil: a successful look is enough.
	Judge func(out string) State
	// Create makes it, in order.
	Create []Command
	// Fix brings an existing resource to the settings setup wants.
	Fix []Command
	// Pending, when set, is why setup cannot create it in this run (a value
	// it has not got, the function not deployed yet); the report shows it
	// with the Create commands for the user.
	Pending string
	// Input, when set, asks the user for the value a Pending resource
	// waits for; a non-empty answer becomes the last Create command's
	// Stdin and the resource is created. Dry runs ask nothing.
	Input func() (string, error)
}

// Report is what a run did and left.
type Report struct {
	Created []string
	InPlace []string
	// Planned are the resources a dry run would create.
	Planned []Resource
	Differs []Resource
	Pending []Resource
}

// Apply looks up each resource in order and creates the missing ones
// (only plans them when dryRun), printing every command to out as it runs.
// It stops at the first command that fails for a reason other than a
// missing resource, returning what it did so far and an error naming the
// problem: a later run picks up from there, since everything is looked up
// again.
func Apply(ctx context.Context, r Runner, resources []Resource, dryRun bool, project string, out io.Writer) (Report, error) {
	var rep Report
	for _, res := range resources {
		state := Missing
		if res.Pending == "" || len(res.Look.Args) > 0 {
			fmt.Fprintf(out, "$ %s\n", res.Look)
			got, err := r.Run(ctx, res.Look)
			switch {
			case err == nil && res.Judge == nil:
				state = InPlace
			case err == nil:
				state = res.Judge(got)
			case !notFound(err):
				return rep, fmt.Errorf("look up %s: %w", res.Name, explain(err, project))
			}
		}
		switch {
		case state == InPlace:
			rep.InPlace = append(rep.InPlace, res.Name)
		case state == Differs:
			fmt.Fprintf(out, "  %s exists with other settings\n", res.Name)
			rep.Differs = append(rep.Differs, res)
		case res.Pending != "" && (dryRun || res.Input == nil):
			rep.Pending = append(rep.Pending, res)
		case res.Pending != "":
			v, err := res.Input()
			if err != nil {
				return rep, fmt.Errorf("read the value for %s: %w", res.Name, err)
			}
			if v == "" {
				rep.Pending = append(rep.Pending, res)
				continue
			}
			create := res.Create[len(res.Create)-1]
			create.Stdin = v
			fmt.Fprintf(out, "$ %s\n", create)
			if _, err := r.Run(ctx, create); err != nil {
				return rep, fmt.Errorf("create %s: %w", res.Name, explain(err, project))
			}
			rep.Created = append(rep.Created, res.Name)
		case dryRun:
			rep.Planned = append(rep.Planned, res)
		default:
			for _, c := range res.Create {
				fmt.Fprintf(out, "$ %s\n", c)
				if _, err := r.Run(ctx, c); err != nil {
					return rep, fmt.Errorf("create %s: %w", res.Name, explain(err, project))
				}
			}
			rep.Created = append(rep.Created, res.Name)
		}
	}
	return rep, nil
}

// Print writes the report: what was created or would be, what differs with
// the commands that fix it, and what is left for the user.
func (rep Report) Print(w io.Writer, dryRun bool) {
	fmt.Fprintln(w)
	switch {
	case dryRun && len(rep.Planned) > 0:
		fmt.Fprintf(w, "Dry run: nothing was changed. %d in place; %d to create with:\n", len(rep.InPlace), len(rep.Planned))
		for _, res := range rep.Planned {
			fmt.Fprintf(w, "  # %s\n", res.Name)
			for _, c := range res.Create {
				fmt.Fprintf(w, "  %s\n", c)
			}
		}
	case len(rep.Created) > 0:
		fmt.Fprintf(w, "Created %d (with the commands above); %d were already in place.\n", len(rep.Created), len(rep.InPlace))
	case len(rep.Differs) == 0 && len(rep.Pending) == 0:
		fmt.Fprintf(w, "Everything is in place (%d resources); nothing was created.\n", len(rep.InPlace))
	default:
		fmt.Fprintf(w, "Nothing was created; %d resources are in place.\n", len(rep.InPlace))
	}
	if len(rep.Differs) > 0 {
		fmt.Fprintln(w, "\nThese exist with other settings; setup leaves them. To change them to what setup wants:")
		for _, res := range rep.Differs {
			fmt.Fprintf(w, "  # %s\n", res.Name)
			for _, c := range res.Fix {
				fmt.Fprintf(w, "  %s\n", c)
			}
		}
	}
	if len(rep.Pending) > 0 {
		fmt.Fprintln(w, "\nLeft to do:")
		for _, res := range rep.Pending {
			fmt.Fprintf(w, "  # %s: %s\n", res.Name, res.Pending)
			for _, c := range res.Create {
				fmt.Fprintf(w, "  %s\n", c)
			}
		}
	}
}
