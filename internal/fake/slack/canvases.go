package slack

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Canvas is a channel's canvas (conversations.canvases.create), edited
// with canvases.edit.
type Canvas struct {
	ID, Title, Markdown string
	// Edits counts the canvases.edit calls that changed it.
	Edits int
}

// maxCanvasMarkdown is Slack's limit on a canvas's Markdown: 1 MiB of
// characters.
const maxCanvasMarkdown = 1 << 20

// NoCanvases makes the workspace one that cannot have channel canvases,
// as on Slack's free plan: conversations.canvases.create answers
// team_tier_cannot_create_channel_canvases.
func (s *Server) NoCanvases(no bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noCanvases = no
}

// documentMarkdown reads a document_content argument: {"type":"markdown",
// "markdown":…}.
func documentMarkdown(raw string) (string, *apiError) {
	var doc struct {
		Type     string `json:"type"`
		Markdown string `json:"markdown"`
	}
	if raw == "" {
		return "", nil
	}
	if json.Unmarshal([]byte(raw), &doc) != nil || doc.Type != "markdown" {
		return "", fail("invalid_arguments")
	}
	if utf8.RuneCountInString(doc.Markdown) > maxCanvasMarkdown {
		return "", fail("canvas_creation_failed")
	}
	return doc.Markdown, nil
}

// createCanvas answers conversations.canvases.create: one canvas per
// channel, in a channel the bot is in.
func (s *Server) createCanvas(channelID, title, content string) (answer, *apiError) {
	c, err := s.member(channelID)
	if err != nil {
		return nil, err
	}
	switch {
	case s.noCanvases:
		return nil, fail("team_tier_cannot_create_channel_canvases")
	case c.Canvas.ID != "":
		return nil, fail("channel_canvas_already_exists")
	}
	md, err := documentMarkdown(content)
	if err != nil {
		return nil, err
	}
	s.nextID++
	c.Canvas = Canvas{ID: fmt.Sprintf("F%08d", s.nextID), Title: title, Markdown: md}
	return answer{"canvas_id": c.Canvas.ID}, nil
}

// editCanvas answers canvases.edit. The fake takes what the product
// sends: exactly one change, "replace" of the whole canvas (no
// section_id) or "insert_at_end".
func (s *Server) editCanvas(canvasID, changes string) (answer, *apiError) {
	var cv *Canvas
	for _, c := range s.channels {
		if c.Canvas.ID == canvasID && canvasID != "" {
			if c.Archived {
				return nil, fail("is_archived")
			}
			cv = &c.Canvas
		}
	}
	if cv == nil {
		return nil, fail("canvas_not_found")
	}
	var cs []struct {
		Operation       string          `json:"operation"`
		SectionID       string          `json:"section_id"`
		DocumentContent json.RawMessage `json:"document_content"`
	}
	if json.Unmarshal([]byte(changes), &cs) != nil || len(cs) != 1 || cs[0].SectionID != "" {
		return nil, fail("invalid_arguments")
	}
	md, err := documentMarkdown(string(cs[0].DocumentContent))
	if err != nil {
		return nil, err
	}
	switch cs[0].Operation {
	case "replace":
		cv.Markdown = md
	case "insert_at_end":
		cv.Markdown += md
	default:
		return nil, fail("invalid_arguments")
	}
	if utf8.RuneCountInString(cv.Markdown) > maxCanvasMarkdown {
		return nil, fail("canvas_editing_failed")
	}
	cv.Edits++
	return answer{}, nil
}
