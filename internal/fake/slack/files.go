package slack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// File is a file shared in a channel through Slack's upload flow
// (files.getUploadURLExternal, a POST of its bytes to the URL it gave,
// files.completeUploadExternal).
type File struct {
	ID, Name, Title string
	Content         []byte
}

// upload is a file whose upload URL was given out and not yet completed.
type upload struct {
	name     string
	length   int
	content  []byte
	received bool
}

// uploadPath is the part of an upload URL before the file's id: under the
// API's path, so the URL has the API's host, the one slack-go sends the
// token to.
const uploadPath = "/_upload/"

// getUploadURL answers files.getUploadURLExternal: a file id and a URL
// on this server to POST the file's length bytes to.
func (s *Server) getUploadURL(r *http.Request, f url.Values) (answer, *apiError) {
	name := f.Get("filename")
	length, err := strconv.Atoi(f.Get("length"))
	if name == "" || err != nil || length <= 0 {
		return nil, fail("invalid_arguments")
	}
	s.nextID++
	id := fmt.Sprintf("F%08d", s.nextID)
	if s.uploads == nil {
		s.uploads = map[string]*upload{}
	}
	s.uploads[id] = &upload{name: name, length: length}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := r.URL.Path[:strings.LastIndexByte(r.URL.Path, '/')]
	return answer{"file_id": id, "upload_url": scheme + "://" + r.Host + base + uploadPath + id}, nil
}

// receiveUpload takes the bytes of file id (multipart, field "file"), as
// Slack's upload URL does: 200 with a plain body, 404 for an unknown id.
func (s *Server) receiveUpload(w http.ResponseWriter, r *http.Request, id string) {
	file, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file", http.StatusBadRequest)
		return
	}
	content, err := io.ReadAll(io.LimitReader(file, 10<<20))
	if err != nil {
		http.Error(w, "bad file", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	up := s.uploads[id]
	if up == nil {
		http.Error(w, "unknown file", http.StatusNotFound)
		return
	}
	up.content, up.received = content, true
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(content)))
}

// completeUpload answers files.completeUploadExternal: the uploaded
// files are shared in channel_id, in the thread of thread_ts when given,
// as one message carrying them. A file whose bytes did not arrive, or
// whose length is not the one announced, is not shared.
func (s *Server) completeUpload(f url.Values) (answer, *apiError) {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if json.Unmarshal([]byte(f.Get("files")), &files) != nil || len(files) == 0 {
		return nil, fail("invalid_arguments")
	}
	var shared []File
	for _, fl := range files {
		up := s.uploads[fl.ID]
		if up == nil || !up.received || len(up.content) != up.length {
			return nil, fail("file_not_found")
		}
		shared = append(shared, File{ID: fl.ID, Name: up.name, Title: fl.Title, Content: slices.Clone(up.content)})
	}
	out := []answer{}
	for _, fl := range shared {
		out = append(out, answer{"id": fl.ID, "title": fl.Title})
	}
	channel := f.Get("channel_id")
	if channel == "" {
		// Uploaded but shared nowhere, as Slack allows.
		for _, fl := range files {
			delete(s.uploads, fl.ID)
		}
		return answer{"files": out}, nil
	}
	c, err := s.member(channel)
	if err != nil {
		return nil, err
	}
	m := Message{User: BotUserID, Text: f.Get("initial_comment"), Files: shared}
	if ts := f.Get("thread_ts"); ts != "" {
		i := findMessage(c, ts)
		if i < 0 {
			return nil, fail("thread_not_found")
		}
		m.ThreadTS = cmp.Or(c.Messages[i].ThreadTS, ts) // a reply to a reply joins the thread
	}
	m.TS = s.nextTS()
	c.Messages = append(c.Messages, m)
	for _, fl := range files {
		delete(s.uploads, fl.ID)
	}
	return answer{"files": out}, nil
}
